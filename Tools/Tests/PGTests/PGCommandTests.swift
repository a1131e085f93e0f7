import Foundation
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The built `pg` binary, run as a process against a real `pg-server` (BRIEF.md's command-line
/// contract: names, JSON keys, exit codes).
@Suite struct PGCommandTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
    }

    func pg(_ arguments: [String], stdin: String? = nil) async throws -> Run {
        let binary = try #require(ReferenceServerProcess.productPath("pg"), "build pg first (swift build)")
        let outcome = try await runProcess(binary, arguments, stdin: stdin)
        return Run(status: outcome.status, stdout: outcome.stdout, stderr: outcome.stderr)
    }

    @Test func theDemoWalksThroughTheWholeFlow() async throws {
        let run = try await pg(["demo"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("Your session is now ready. Click here to attend."))
        #expect(run.stdout.contains("overtime"))
        #expect(run.stdout.contains("received it once"))
    }

    /// A loopback server that is not a PlusGuidance API: every connection gets a 503.
    final class UnavailableServer: @unchecked Sendable {
        // @unchecked: `fd` is set once in init; the accept thread only reads it.
        let port: Int
        private let fd: Int32

        init() throws {
            let (fd, port) = bindLoopback()
            self.fd = fd
            self.port = port
            guard listen(fd, 16) == 0 else { throw CocoaError(.fileNoSuchFile) }
            let listener = fd
            Thread {
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let client = accept(listener, nil, nil)
                    guard client >= 0 else { return }
                    _ = read(client, &buffer, buffer.count)
                    let answer = Array(
                        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                    _ = write(client, answer, answer.count)
                    close(client)
                }
            }.start()
        }

        deinit {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    /// libcurl is loaded by the first request, not at start-up: a command that only reads never
    /// maps it, and without a usable libcurl a read still answers while a send stays queued
    /// with the reason, delivered once libcurl is back.
    @Test func libcurlIsLoadedByTheFirstRequestOnly() async throws {
        let server = try await RestartableReferenceServer.launch()
        defer { server.shutdown() }
        let profile = FileManager.default.temporaryDirectory.path + "/pg-curl-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let binary = try #require(ReferenceServerProcess.productPath("pg"))
        let base = ["--server", server.url.absoluteString, "--profile", profile]
        func pg(_ arguments: [String], _ environment: [String: String]) async throws -> ProcessOutcome {
            try await runProcess(binary, base + arguments, environment: environment)
        }
        #expect(
            try await self.pg(base + ["login", "alice@example.com", "--password-stdin"], stdin: "alice-pass\n").status
                == 0)

        // The dynamic loader names every file it opens (LD_DEBUG=files, on stderr).
        let traced = ["LD_DEBUG": "files"]
        for reading in [["--help"], ["messages", "therapist@example.com"], ["outbox"]] {
            let run = try await pg(reading, traced)
            #expect(run.status == 0, "\(reading): \(run.stderr.suffix(300))")
            #expect(!run.stderr.contains("libcurl"), "\(reading) loaded libcurl")
        }
        let syncing = try await pg(["sync"], traced)
        #expect(syncing.status == 0)
        #expect(syncing.stderr.contains("libcurl.so.4"))

        // A "libcurl.so.4" without libcurl's functions (the C library) first on the search path.
        let linked = try await runProcess("/usr/bin/ldd", [binary]).stdout.split(separator: "\n")
        let libc = try #require(
            linked.first { $0.contains("libc.so.6 => ") }?.split(separator: " ").first { $0.hasPrefix("/") })
        let fake = profile + "-fakecurl"
        try FileManager.default.createDirectory(atPath: fake, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: fake) }
        try FileManager.default.createSymbolicLink(atPath: fake + "/libcurl.so.4", withDestinationPath: String(libc))
        let broken = ["LD_LIBRARY_PATH": fake]
        #expect(try await pg(["messages", "therapist@example.com"], broken).status == 0)
        let send = try await pg(["send", "therapist@example.com", "without libcurl"], broken)
        #expect(send.status == 0, "\(send.stderr)")
        #expect(send.stdout.contains("Queued:") && send.stdout.contains("libcurl_unavailable"), "\(send.stdout)")
        let sync = try await pg(["sync"], broken)
        #expect(sync.status == 69)
        #expect(sync.stderr.contains("libcurl_unavailable: libcurl.so.4 lacks curl_"), "\(sync.stderr)")
        #expect(sync.stderr.split(separator: "\n").count == 1)

        // With libcurl back, the queued text goes out exactly once.
        #expect(try await pg(["sync"], [:]).status == 0)
        let outbox = try await self.pg(base + ["--json", "outbox"])
        #expect((outbox.json as? [Any])?.isEmpty == true)
        let messages = try #require(
            try await self.pg(base + ["--json", "messages", "therapist@example.com"]).json as? [[String: Any]])
        #expect(messages.filter { $0["body"] as? String == "without libcurl" }.count == 1)
    }

    /// Text times are the local time of `TZ` as `2026-12-02 18:44`, whatever the locale (they
    /// were ICU's locale format, and ICU's first formatting cost 3 ms of every `pg messages`).
    @Test func textTimesAreLocalMinutesInEveryLocale() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = FileManager.default.temporaryDirectory.path + "/pg-times-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let binary = try #require(ReferenceServerProcess.productPath("pg"))
        let base = ["--server", server.url.absoluteString, "--profile", folder + "/p", "--key-file", folder + "/key"]
        func pg(_ arguments: [String], _ environment: [String: String] = [:]) async throws -> ProcessOutcome {
            try await runProcess(binary, base + arguments, stdin: "alice-pass\n", environment: environment)
        }
        #expect(try await pg(["login", "alice@example.com", "--password-stdin"]).status == 0)
        #expect(try await pg(["send", "therapist@example.com", "what time is it"]).status == 0)
        let json = try #require(
            try JSONSerialization.jsonObject(
                with: Data(try await pg(["--json", "messages", "therapist@example.com"]).stdout.utf8))
                as? [[String: Any]])
        let created = try #require(
            json.first { $0["body"] as? String == "what time is it" }?["createdAt"] as? String)
        let parsed = try #require(ISO8601DateFormatter.withFractions.date(from: created))
        // POSIX `TZ` (no time zone database needed): five hours 45 minutes east of UTC.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(secondsFromGMT: 5 * 3_600 + 45 * 60))
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: parsed)
        let expected = String(
            format: "%04d-%02d-%02d %02d:%02d  you: what time is it", c.year!, c.month!, c.day!, c.hour!, c.minute!)
        for locale in ["C", "en_US.UTF-8", "de_DE.UTF-8"] {
            let text = try await pg(
                ["messages", "therapist@example.com"], ["TZ": "XYZ-5:45", "LC_ALL": locale, "LANG": locale])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.split(separator: "\n").contains { $0 == expected }, "\(locale): \(text.stdout)")
        }
    }

    @Test func anythingElseIsExit70() async throws {
        let server = try UnavailableServer()
        let profile = FileManager.default.temporaryDirectory.path + "/pg-70-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let run = try await pg(
            [
                "--server", "http://127.0.0.1:\(server.port)", "--profile", profile, "login", "a@example.com",
                "--password-stdin",
            ],
            stdin: "x\n")
        #expect(run.status == 70)
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stderr.contains("503"))
    }

    @Test func commandsFollowTheContract() async throws {
        let server = try await RestartableReferenceServer.launch()
        defer { server.shutdown() }
        let profile = FileManager.default.temporaryDirectory.path + "/pg-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let base = ["--server", server.url.absoluteString, "--profile", profile]

        #expect(try await pg(base + ["whoami"]).status == 77)
        let wrong = try await pg(base + ["login", "alice@example.com", "--password-stdin"], stdin: "nope\n")
        #expect(wrong.status == 77)
        #expect(wrong.stderr.split(separator: "\n").count == 1)
        #expect(!wrong.stderr.contains("nope"))

        #expect(
            try await pg(base + ["login", "therapist@example.com", "--password-stdin"], stdin: "therapist-pass\n")
                .status == 0
        )
        let me = try await pg(base + ["--json", "whoami"])
        #expect(
            (me.json as? [String: String]) == [
                "id": "usr_therapist", "email": "therapist@example.com", "role": "therapist",
            ])
        let clients = try #require(try await pg(base + ["--json", "clients"]).json as? [[String: Any]])
        #expect(clients.compactMap { $0["email"] as? String } == ["alice@example.com", "bob@example.com"])
        #expect(Set(clients.first.map { Array($0.keys) } ?? []) == ["id", "email", "name", "online", "unread"])

        // Refused by a rule (65), bad usage (64).
        let offline = try await pg(base + ["offer", "bob@example.com", "--type", "video", "--duration", "30"])
        #expect(offline.status == 65)
        #expect(offline.stderr.contains("client_offline"))
        #expect(
            try await pg(base + ["offer", "alice@example.com", "--type", "hologram", "--duration", "30"]).status == 64)
        #expect(try await pg(base + ["messages"]).status == 64)

        #expect(try await pg(base + ["send", "alice@example.com", "Hello from the CLI"]).status == 0)
        // Not a terminal: no progress output, nothing on stderr.
        let sync = try await pg(base + ["sync"])
        #expect(sync.status == 0)
        #expect(sync.stderr.isEmpty)
        let messages = try #require(
            try await pg(base + ["--json", "messages", "alice@example.com"]).json as? [[String: Any]])
        // Oldest first, newest last, as in the text output.
        #expect(messages.last?["body"] as? String == "Hello from the CLI")
        #expect(messages.last?["deliveryState"] as? String == "sent")
        #expect(messages.last?["kind"] as? String == "text")
        let keys = Set(messages.last.map { Array($0.keys) } ?? [])
        #expect(
            keys.isSuperset(of: [
                "id", "senderId", "recipientId", "kind", "body", "createdAt", "deliveryState", "readAt",
            ]))

        // Offline: sending queues (0), an offer cannot (69), sync says unreachable (69).
        server.stop()
        #expect(try await pg(base + ["send", "alice@example.com", "Written offline"]).status == 0)
        let outbox = try #require(try await pg(base + ["--json", "outbox"]).json as? [[String: Any]])
        #expect(outbox.count == 1)
        #expect(outbox.first?["state"] as? String == "pending")
        #expect(
            try await pg(base + ["offer", "alice@example.com", "--type", "voice", "--duration", "30"]).status == 69)
        #expect(try await pg(base + ["sync"]).status == 69)
        let status = try #require(try await pg(base + ["--json", "status"]).json as? [String: Any])
        #expect(status["online"] as? Bool == false)
        #expect(status["pendingOutbox"] as? Int == 1)
        // Reading commands still answer from the cache.
        #expect(try await pg(base + ["clients"]).status == 0)

        // Signing out offline keeps the unsent text; signing in again sends it.
        let logout = try await pg(base + ["--json", "logout"])
        #expect(logout.status == 0)
        #expect((logout.json as? [String: Any])?["keptOutbox"] as? Int == 1)
        #expect(try await pg(base + ["whoami"]).status == 77)
        try await server.start()
        #expect(
            try await pg(base + ["login", "therapist@example.com", "--password-stdin"], stdin: "therapist-pass\n")
                .status == 0)
        #expect((try await pg(base + ["--json", "outbox"]).json as? [Any])?.isEmpty == true)
        let delivered = try #require(
            try await pg(base + ["--json", "messages", "alice@example.com"]).json as? [[String: Any]])
        #expect(delivered.last?["body"] as? String == "Written offline")
        #expect(delivered.last?["deliveryState"] as? String == "sent")
    }
}

extension ISO8601DateFormatter {
    /// RFC 3339 with fractional seconds, as the command-line JSON writes times.
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
