import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `pg-syncd` run as a process next to `pg` on one profile.
@Suite struct SyncDaemonTests {
    /// A unix datagram socket standing in for systemd's notify socket.
    final class NotifySocket: @unchecked Sendable {
        // @unchecked: `received` is only touched under `lock`.
        let path: String
        private let fd: Int32
        private let lock = NSLock()
        private var received: [String] = []

        init() throws {
            path = FileManager.default.temporaryDirectory.path + "/notify-\(UUID().uuidString.prefix(8))"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let length = socklen_t(MemoryLayout<sa_family_t>.size + path.utf8.count)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            guard bound == 0 else { throw TestFailure("cannot bind \(path)") }
            let reader = Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: 4_096)
                while true {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    guard count > 0 else { break }
                    let text = String(decoding: buffer[0..<count], as: UTF8.self)
                    lock.withLock { received.append(text) }
                }
            }
            reader.start()
        }

        deinit {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
            unlink(path)
        }

        var messages: [String] { lock.withLock { received } }
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    func binary(_ name: String) throws -> String { try #require(ReferenceServerProcess.productPath(name)) }

    func eventually(_ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("condition not met in time") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test func itNeedsASignedInProfile() async throws {
        let profile = FileManager.default.temporaryDirectory.path + "/pg-syncd-\(UUID().uuidString)"
        let run = try await runProcess(
            try binary("pg-syncd"), ["--profile", profile, "--server", "http://127.0.0.1:1"])
        #expect(run.status == 77)
        #expect(run.stderr.contains("not signed in"))
    }

    /// A new profile with Alice signed in on `server`: its folder, and `pg`'s arguments for it.
    func aliceSignedIn(on server: ReferenceServerProcess) async throws -> (profile: String, base: [String]) {
        let profile = FileManager.default.temporaryDirectory.path + "/pg-syncd-\(UUID().uuidString)"
        let base = ["--server", server.url.absoluteString, "--profile", profile]
        let login = try await runProcess(
            try binary("pg"), base + ["login", "alice@example.com", "--password-stdin"], stdin: "alice-pass\n")
        guard login.status == 0 else { throw TestFailure("login: \(login.stderr)") }
        return (profile, base)
    }

    @Test func itDeliversWhatPgQueuesAndStopsCleanlyOnSIGTERM() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let (profile, base) = try await aliceSignedIn(on: server)
        defer { try? FileManager.default.removeItem(atPath: profile) }

        let notify = try NotifySocket()
        let metricsPort = freeLoopbackPort()
        let daemon = try ChildProcess(
            try binary("pg-syncd"),
            ["--server", server.url.absoluteString, "--profile", profile, "--metrics-port", "\(metricsPort)"],
            environment: ["NOTIFY_SOCKET": notify.path])
        try await eventually { notify.messages.contains { $0.hasPrefix("READY=1") } }

        // pg cannot take the engine (the daemon holds it): it queues, and the daemon delivers.
        let send = try await runProcess(
            try binary("pg"), base + ["send", "therapist@example.com", "delivered by the daemon"])
        #expect(send.status == 0)
        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        try await eventually {
            try await theo.messages(with: "usr_alice").messages.contains { $0.body == "delivered by the daemon" }
        }
        // A live daemon keeps its client online (R2).
        #expect(try await theo.contacts().first { $0.id == "usr_alice" }?.presence.isOnline == true)

        // Metrics and health on loopback.
        let http = CurlHTTPClient()
        let metricsURL = URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!
        try await eventually {
            let body = String(
                decoding: (try? await http.execute(HTTPRequest(url: metricsURL)))?.body ?? Data(), as: UTF8.self)
            return body.contains("pg_live 1") && body.contains("pg_outbox_pending 0")
        }
        let health = try await http.execute(HTTPRequest(url: URL(string: "http://127.0.0.1:\(metricsPort)/healthz")!))
        #expect(health.status == 200)

        daemon.signal(SIGTERM)
        #expect(await daemon.exitStatus(within: .seconds(60)) == 0)
        #expect(notify.messages.contains { $0.hasPrefix("STOPPING=1") })
        let texts = try await theo.messages(with: "usr_alice").messages.filter { $0.body == "delivered by the daemon" }
        #expect(texts.count == 1)
    }

    /// `pg_last_successful_pull_timestamp_seconds` stayed at the daemon's start through eight
    /// minutes of live traffic, so an alert on it fired on a healthy kiosk: it now moves with
    /// what the live stream brings.
    @Test func theLastSyncMetricMovesWithTheLiveStream() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let (profile, base) = try await aliceSignedIn(on: server)
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let metricsPort = freeLoopbackPort()
        let daemon = try ChildProcess(try binary("pg-syncd"), base + ["--metrics-port", "\(metricsPort)"])
        defer {
            daemon.signal(SIGTERM)
            daemon.wait(deadline: .now + .seconds(30))
        }
        let http = CurlHTTPClient()
        @Sendable func lastSync() async -> Double? {
            let url = URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!
            let body = String(decoding: (try? await http.execute(HTTPRequest(url: url)))?.body ?? Data(), as: UTF8.self)
            guard body.contains("pg_live 1") else { return nil }
            let line = body.split(separator: "\n").first { $0.hasPrefix("pg_last_successful_pull_timestamp_seconds ") }
            return line.flatMap { Double($0.split(separator: " ")[1]) }
        }
        try await eventually { await lastSync() != nil }
        let started = try #require(await lastSync())
        try await Task.sleep(for: .seconds(3))
        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        _ = try await theo.send(
            Message.text(
                id: MessageID(sender: "usr_therapist", nonce: "m\(UUID().uuidString.prefix(8))"), from: "usr_therapist",
                to: "usr_alice", within: CareRelation(therapistID: "usr_therapist", clientID: "usr_alice"),
                body: "live", at: Date(), deliveryState: .pending),
            idempotencyKey: IdempotencyKey("k_\(UUID().uuidString)"))
        try await eventually { (await lastSync() ?? 0) >= started + 2.5 }
    }
}
