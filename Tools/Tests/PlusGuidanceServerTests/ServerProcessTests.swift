import AsyncHTTPClient
import Foundation
import NIOHTTP1
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `pg-server` binary's command-line contract (BRIEF.md), run as a process.
@Suite struct ServerProcessTests {
    @Test func itPrintsWhereItListensFirstServesTheSeedAndStopsOnSIGTERM() async throws {
        let server = try await ReferenceServerProcess.launch()
        let api = TestAPI(base: server.url)
        #expect(server.url.host == "127.0.0.1")
        #expect((server.url.port ?? 0) > 0)
        for name in ["therapist", "alice", "bob", "other", "carol"] {
            _ = try await api.login(name)
        }
        let theo = try await api.login("therapist")
        let contacts = try await api.request(.GET, "/v1/contacts", token: theo).list("contacts").compactMap {
            $0["email"] as? String
        }
        #expect(contacts == ["alice@example.com", "bob@example.com"])
        #expect(try await api.request(.POST, "/v1/test/clock/advance", json: ["seconds": 1]).status == 200)
        #expect(server.stop() == 0)
    }

    /// Hardening, defect 7: `{"seconds": 1e16}` trapped converting to Int64 and killed the
    /// server. Absurd values are 422, and the server and its clock carry on.
    @Test func anAbsurdClockAdvanceIsRefusedAndTheServerCarriesOn() async throws {
        let server = try await ReferenceServerProcess.launch()
        let api = TestAPI(base: server.url)
        for seconds in [1e16, -1, 3_153_600_001, 1.7976931348623157e308] {
            let answer = try await api.request(.POST, "/v1/test/clock/advance", json: ["seconds": seconds])
            #expect(answer.status == 422, "\(seconds)")
            #expect(answer.code == "invalid_request", "\(seconds)")
        }
        let before = try await api.request(.POST, "/v1/test/clock/advance", json: ["seconds": 0])
        let after = try await api.request(.POST, "/v1/test/clock/advance", json: ["seconds": 3_600])
        #expect(before.status == 200 && after.status == 200)
        let start = try #require(before["now"].flatMap(RFC3339.date))
        let end = try #require(after["now"].flatMap(RFC3339.date))
        #expect(end.timeIntervalSince(start) >= 3_600)
        #expect(server.stop() == 0)
    }

    /// SIGTERM ends the server within its shutdown bound even while a client holds a request
    /// open for good (a body that never arrives) and another holds the event stream.
    @Test func sigtermEndsTheServerWhateverItsClientsDo() async throws {
        let server = try await ReferenceServerProcess.launch()
        let theo = try await TestAPI(base: server.url).login("therapist")
        let stalled = try connect(to: server.url)
        defer { close(stalled) }
        send(
            stalled,
            "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        let stream = try connect(to: server.url)
        defer { close(stream) }
        send(
            stream,
            "GET /v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer \(theo)\r\n\r\n")
        let head = try await onDedicatedThread { () -> String in
            var bytes = [UInt8](repeating: 0, count: 12)
            let count = recv(stream, &bytes, bytes.count, Int32(MSG_WAITALL))
            return String(decoding: bytes.prefix(max(0, count)), as: UTF8.self)
        }
        #expect(head == "HTTP/1.1 200")
        // Killed (137) if it is still running 20 s after SIGTERM.
        #expect(server.stop() == 0)
    }

    private func connect(to url: URL) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(url.port ?? 0).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0)
        return descriptor
    }

    private func send(_ descriptor: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        #expect(Glibc.send(descriptor, bytes, bytes.count, 0) == bytes.count)
    }

    /// The trap Foundation's `Process` falls into and `ChildProcess` avoids: a child whose
    /// exit-detection socket (Foundation's) or stdout lives on in a process it started.
    @Test func anExitIsSeenWhileAGrandchildHoldsTheChildsOutput() async throws {
        let process = try ChildProcess("/bin/sh", ["-c", "sleep 600 & echo $!; exit 3"], stdout: .pipe)
        let line = try await onDedicatedThread { process.standardOutput?.availableData ?? Data() }
        let sleeper = try #require(
            Int32(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(sleeper, SIGKILL) }
        #expect(await process.exitStatus(within: .seconds(60)) == 3)
        #expect(!process.isRunning)
    }

    /// A child starts with default signal handling (this process ignores SIGPIPE), only its
    /// three standard streams open, and the environment it was given.
    @Test func aChildStartsCleanWithItsOwnEnvironment() async throws {
        let inherited = open("/dev/null", O_RDONLY)  // without O_CLOEXEC: closed in the child all the same
        defer { close(inherited) }
        let outcome = try await runProcess(
            "/bin/sh",
            ["-c", "grep -E '^SigIgn' /proc/self/status; ls /proc/self/fd | wc -l; echo \"$PG_PROBE/$HOME\""],
            environment: ["PG_PROBE": "probe", "HOME": ""])
        let lines = outcome.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.count == 3)
        // Of the standard signals (1–31) none is ignored; glibc keeps its own two above them.
        let ignored = try #require(
            lines.first.flatMap {
                UInt64($0.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16)
            })
        #expect(ignored & 0x7fff_ffff == 0)
        // 0, 1, 2 and the descriptor `ls` opens to read the folder.
        #expect(lines.dropFirst().first == "4")
        #expect(lines.last == "probe/")
        #expect(outcome.status == 0)
    }

    @Test func badArgumentsAreAUsageError() async throws {
        let binary = try #require(ReferenceServerProcess.productPath("pg-server"))
        let process = try ChildProcess(binary, ["--seed", "nonsense"])
        #expect(await process.exitStatus(within: .seconds(60)) == 64)
    }
}
