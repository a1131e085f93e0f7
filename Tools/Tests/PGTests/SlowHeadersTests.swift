import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Connections that never finish their request headers (issue "The kiosk never fails
/// silently"): 1,500 of them stayed open on `pg-syncd`'s metrics port (42 → 1,542 descriptors,
/// RSS 34.9 → 51.8 MB, never given back) and on `pg-server`. Every listening socket we own now
/// closes a connection that sends no complete request within its idle timeout.
@Suite(.serialized) struct SlowHeadersTests {
    /// Opens `count` connections to `port` on loopback, each sending the start of a request and
    /// never its end; returns their descriptors.
    static func flood(_ port: Int, count: Int) -> [Int32] {
        (0..<count).compactMap { _ in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                close(fd)
                return nil
            }
            let start = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            _ = start.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            return fd
        }
    }

    static func descriptors(of pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// Whether the server has closed `fd` (end of file or a reset; whatever it sent before is
    /// read and dropped), without blocking.
    static func closedByServer(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 { continue }
            return count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
        }
    }

    /// Floods `port` of process `pid` and expects the server to close every one of those
    /// connections itself within the idle timeout and some slack, and its descriptors back near
    /// `baseline`. (Not "at least 300 open at once" first: on a loaded machine accepting 400
    /// can take longer than the idle timeout, which sheds the first before the last arrive.)
    static func expectFloodShedding(pid: Int32, port: Int, idleTimeout: Duration) async throws {
        let baseline = descriptors(of: pid)
        let open = flood(port, count: 400)
        defer { for fd in open { close(fd) } }
        #expect(open.count == 400)
        var remaining = open
        let deadline = ContinuousClock.now + idleTimeout + .seconds(40)
        while !remaining.isEmpty, ContinuousClock.now < deadline {
            remaining.removeAll(where: closedByServer)
            if !remaining.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(remaining.isEmpty, "\(remaining.count) of \(open.count) connections left open by the server")
        try await waitUntil(within: .seconds(20)) { descriptors(of: pid) <= baseline + 5 }
    }

    @Test func theDaemonsMetricsPortShedsConnectionsThatNeverFinishTheirHeaders() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let profile = FileManager.default.temporaryDirectory.path + "/pg-slow-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let pg = try #require(ReferenceServerProcess.productPath("pg"))
        let base = ["--server", server.url.absoluteString, "--profile", profile]
        #expect(
            try await runProcess(pg, base + ["login", "alice@example.com", "--password-stdin"], stdin: "alice-pass\n")
                .status == 0)
        let port = freeLoopbackPort()
        let daemon = try ChildProcess(
            try #require(ReferenceServerProcess.productPath("pg-syncd")), base + ["--metrics-port", "\(port)"])
        defer {
            daemon.signal(SIGTERM)
            daemon.wait(deadline: .now + .seconds(30))
        }
        let http = CurlHTTPClient()
        let metrics = URL(string: "http://127.0.0.1:\(port)/metrics")!
        try await waitUntil {
            (try? await http.execute(HTTPRequest(url: metrics)))?.status == 200
        }
        try await Self.expectFloodShedding(pid: daemon.processIdentifier, port: port, idleTimeout: .seconds(10))
        // And it still answers.
        #expect(try await http.execute(HTTPRequest(url: metrics)).status == 200)
    }

    @Test func theReferenceServerShedsConnectionsThatNeverFinishTheirHeaders() async throws {
        let server = try await ReferenceServerProcess.launch(arguments: [
            "--seed", "demo", "--test-clock", "--idle-timeout", "10",
        ])
        defer { server.stop() }
        let port = try #require(server.url.port)
        try await Self.expectFloodShedding(pid: server.processIdentifier, port: port, idleTimeout: .seconds(10))
        let health = try await CurlHTTPClient().execute(
            HTTPRequest(url: URL(string: server.url.absoluteString + "/v1/health")!))
        #expect(health.status == 200)
    }
}
