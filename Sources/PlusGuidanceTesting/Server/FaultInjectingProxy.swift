import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP proxy on loopback in front of a server, for testing what a client does when the network
/// misbehaves: it forwards bytes both ways, and on request loses the answers of the next
/// requests *after the server has processed them* (it closes both sides as the first byte of
/// the answer arrives), or refuses every connection.
///
/// ```swift
/// let proxy = try FaultInjectingProxy(upstreamPort: server.url.port!)
/// proxy.dropNextAnswers(1)        // the next answer is lost, its request was committed
/// ```
public final class FaultInjectingProxy: @unchecked Sendable {
    // @unchecked: `dropsLeft`, `refusing` and `connections` are only touched under `lock`; the
    // listening descriptor is immutable after init.
    public let url: URL
    private let listener: Int32
    private var upstreamPort: Int
    private let lock = NSLock()
    private var dropsLeft = 0
    private var refusing = false
    private var stalled = false
    private var stopped = false
    private var answersDropped = 0
    /// Client sockets being relayed; removed (under `lock`) before they are closed.
    private var relayed: Set<Int32> = []

    public init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            close(fd)
            throw ProxyError(description: "cannot listen on loopback")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        url = URL(string: "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))")!
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    public struct ProxyError: Error, CustomStringConvertible { public let description: String }

    /// Loses the answers to `count` more requests (added to any still to lose), after the server
    /// processed them.
    public func dropNextAnswers(_ count: Int) { lock.withLock { dropsLeft += count } }

    /// While `true`, every new connection is closed at once and the open ones are cut (the
    /// server looks unreachable, kept-alive connections included).
    public func refuseConnections(_ refuse: Bool) {
        lock.withLock {
            refusing = refuse
            if refuse { for client in relayed { shutdown(client, Int32(SHUT_RDWR)) } }
        }
    }

    /// Sends new connections to another upstream port, as a server restarted elsewhere that
    /// its clients still reach at the proxy's address. A test that stops a server and starts
    /// it again should put the proxy in front: the proxy keeps its port while the server is
    /// down, where a freed port could be taken by any other process in the meantime.
    public func forward(toPort port: Int) { lock.withLock { upstreamPort = port } }

    /// While `true`, connections stay open but no byte goes through either way, as behind a
    /// NAT that dropped its mapping: only a missed-heartbeat timeout notices. Bytes held back
    /// are delivered once it is `false` again.
    public func stallConnections(_ stall: Bool) { lock.withLock { stalled = stall } }

    /// How many answers were lost so far.
    public var droppedAnswers: Int { lock.withLock { answersDropped } }

    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        if first { shutdown(listener, Int32(SHUT_RDWR)) }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { break }
            if lock.withLock({ refusing }) {
                close(client)
                continue
            }
            let thread = Thread { [self] in relay(client) }
            thread.start()
        }
        close(listener)
    }

    private func relay(_ client: Int32) {
        lock.withLock { _ = relayed.insert(client) }
        defer {
            lock.withLock { _ = relayed.remove(client) }
            close(client)
        }
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: UInt16(lock.withLock { upstreamPort }))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(upstream)
            return
        }
        let forward = Thread { [self] in pump(from: client, to: upstream, inspect: nil) }
        forward.start()
        pump(from: upstream, to: client) { [self] in
            // The server started answering, so it has processed the request: lose it now?
            lock.withLock {
                guard dropsLeft > 0 else { return false }
                dropsLeft -= 1
                answersDropped += 1
                return true
            }
        }
        shutdown(client, Int32(SHUT_RDWR))
        shutdown(upstream, Int32(SHUT_RDWR))
        close(upstream)
    }

    /// Copies bytes until either side closes. `inspect` is asked before forwarding each chunk
    /// whether to cut the connection instead.
    private func pump(from source: Int32, to destination: Int32, inspect: (() -> Bool)?) {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = read(source, &buffer, buffer.count)
            guard count > 0 else { break }
            while lock.withLock({ stalled && !stopped }) { usleep(10_000) }
            if let inspect, inspect() { break }
            var sent = 0
            while sent < count {
                let written = buffer.withUnsafeBytes {
                    send(destination, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL))
                }
                guard written > 0 else { return }
                sent += written
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }
}
