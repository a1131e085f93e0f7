import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Blocking TCP sockets on 127.0.0.1, for the test servers and proxies in this module.
enum LoopbackSocket {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func address(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return address
    }

    /// A listening socket on a free port.
    static func listen() throws -> (descriptor: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, Glibc.listen(fd, 128) == 0 else {
            close(fd)
            throw Failure(description: "cannot listen on loopback")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A connection to `port`, or `nil` when nothing listens there.
    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.address(port: UInt16(port))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        forwardAtOnce(fd)
        return fd
    }

    /// Turns Nagle's algorithm off: a proxy that relays a request in two writes (headers, then
    /// body) would otherwise wait for the peer's delayed ACK, 40 ms, before the second.
    static func forwardAtOnce(_ fd: Int32) {
        var yes: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Writes all of `bytes`; `false` once the peer is gone.
    @discardableResult
    static func send(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Bool {
        let array = Array(bytes)
        var sent = 0
        while sent < array.count {
            let written = array.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, array.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { return false }
            sent += written
        }
        return true
    }

    /// The next chunk, empty at the end of the stream.
    static func receive(_ fd: Int32, upTo count: Int = 16_384) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let got = read(fd, &buffer, count)
        return got > 0 ? Array(buffer.prefix(got)) : []
    }
}
