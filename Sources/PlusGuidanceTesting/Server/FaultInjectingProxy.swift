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
    private var requestObserver: (@Sendable (_ firstBytes: [UInt8]) -> Void)?

    public init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let (fd, port) = try LoopbackSocket.listen()
        listener = fd
        url = URL(string: "http://127.0.0.1:\(port)")!
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

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

    /// Calls `observer` on the relaying thread as each chunk from a client arrives, before it is
    /// forwarded, with its first bytes (up to 64): e.g. to time when requests leave a client.
    /// Connections opened before the call are not observed: set it before the client connects.
    public func observeRequests(_ observer: @escaping @Sendable (_ firstBytes: [UInt8]) -> Void) {
        lock.withLock { requestObserver = observer }
    }

    /// How many answers were lost so far.
    public var droppedAnswers: Int { lock.withLock { answersDropped } }

    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        if first { shutdown(listener, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client >= 0 { LoopbackSocket.forwardAtOnce(client) }
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
        guard let upstream = LoopbackSocket.connect(port: lock.withLock { upstreamPort }) else { return }
        let forward = Thread { [self] in
            pump(from: client, to: upstream, observe: lock.withLock { requestObserver }, inspect: nil)
        }
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
    private func pump(
        from source: Int32, to destination: Int32, observe: (@Sendable ([UInt8]) -> Void)? = nil,
        inspect: (() -> Bool)?
    ) {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = read(source, &buffer, buffer.count)
            guard count > 0 else { break }
            observe?(Array(buffer.prefix(min(count, 64))))
            while lock.withLock({ stalled && !stopped }) { usleep(10_000) }
            if let inspect, inspect() { break }
            guard LoopbackSocket.send(destination, buffer.prefix(count)) else { return }
        }
        shutdown(destination, Int32(SHUT_WR))
    }
}
