import AsyncHTTPClient
import Foundation
import NIOHTTP1
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

    /// The trap `waitForExit` avoids: a child whose exit-detection socket (Foundation's) lives
    /// on in a process it started. Foundation then never sees the child exit.
    @Test func waitForExitSeesAnExitFoundationMisses() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "sleep 600 & echo $!; exit 3"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let line = try await onDedicatedThread { output.fileHandleForReading.availableData }
        let sleeper = try #require(
            Int32(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(sleeper, SIGKILL) }
        #expect(try await onDedicatedThread { waitForExit(process, deadline: .now + .seconds(60)) } == 3)
    }

    @Test func badArgumentsAreAUsageError() async throws {
        let binary = try #require(ReferenceServerProcess.productPath("pg-server"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--seed", "nonsense"]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        #expect(try await onDedicatedThread { waitForExit(process, deadline: .now + .seconds(60)) } == 64)
    }
}
