import Foundation
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Hardening (the tester's defects 2–4) through the built binaries, against a real `pg-server`
/// behind a ``HostileServer`` that rewrites, trickles, stalls and floods its answers.
@Suite struct HostileServerTests {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// A server, the hostile proxy in front of it, and a folder of profiles.
    final class Stage: Sendable {
        let server: ReferenceServerProcess
        let hostile: HostileServer
        let folder = FileManager.default.temporaryDirectory.path + "/pg-hostile-\(UUID().uuidString)"

        init() async throws {
            server = try await ReferenceServerProcess.launch()
            hostile = try HostileServer(upstream: server.url)
        }

        func binary(_ name: String) throws -> String {
            guard let path = ReferenceServerProcess.productPath(name) else {
                throw Failure(description: "build \(name)")
            }
            return path
        }

        /// `pg` on `who`'s profile, through the hostile proxy unless `direct`.
        func pg(
            _ who: String, _ arguments: [String], direct: Bool = false, stdin: String? = nil
        ) async throws
            -> ProcessOutcome
        {
            let url = direct ? server.url : hostile.url
            return try await runProcess(
                try binary("pg"), ["--server", url.absoluteString, "--profile", folder + "/" + who] + arguments,
                stdin: stdin)
        }

        func signIn(_ who: String, _ email: String) async throws {
            let password = email.split(separator: "@")[0] + "-pass\n"
            let run = try await pg(who, ["login", email, "--password-stdin"], direct: true, stdin: String(password))
            guard run.status == 0 else { throw Failure(description: "login \(email): \(run.stderr)") }
        }

        func stop() {
            hostile.stop()
            server.stop()
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    /// Sets every `key` member, at any depth of a JSON answer, to `value`.
    static func replacing(_ key: String, with value: Any) -> HostileServer.Behaviour {
        nonisolated(unsafe) let value = value
        return HostileServer.editJSON { object in
            func walk(_ node: Any) -> Any {
                if var dictionary = node as? [String: Any] {
                    for (name, member) in dictionary { dictionary[name] = name == key ? value : walk(member) }
                    return dictionary
                }
                if let array = node as? [Any] { return array.map(walk) }
                return node
            }
            object = walk(object) as? [String: Any] ?? object
        }
    }

    /// Defect 2: a session with `durationMinutes: Int64.max` was cached, and every later
    /// `pg sessions` died with SIGILL. Now the answer is refused at the boundary, nothing of it
    /// is cached, and the next honest answer is taken.
    @Test(arguments: [Int64.max, -50])
    func aRecordOutsideTheContractIsRefusedAndCachesNothing(duration: Int64) async throws {
        let stage = try await Stage()
        defer { stage.stop() }
        try await stage.signIn("theo", "therapist@example.com")
        try await stage.signIn("alice", "alice@example.com")
        let offered = try await stage.pg(
            "theo",
            ["--json", "offer", "alice@example.com", "--type", "video", "--duration", "45", "--no-confirmation"],
            direct: true)
        #expect(offered.status == 0, "\(offered.stderr)")

        stage.hostile.setRule { _ in Self.replacing("durationMinutes", with: duration) }
        let sync = try await stage.pg("alice", ["sync"])
        #expect(sync.status == 70)
        #expect(sync.stderr.contains("outside the API contract: durationMinutes \(duration) outside 5...240"))
        let sessions = try await stage.pg("alice", ["--json", "sessions"])
        #expect(sessions.status == 0, "\(sessions.stderr)")
        #expect(sessions.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        let offers = try await stage.pg("alice", ["--json", "offers"])
        #expect(offers.status == 0 && !offers.stdout.contains("\(duration)"))

        stage.hostile.setRule { _ in .forward }
        #expect(try await stage.pg("alice", ["sync"]).status == 0)
        let honest = try await stage.pg("alice", ["--json", "sessions"])
        #expect(honest.status == 0 && honest.stdout.contains("\"durationMinutes\":45"), "\(honest.stdout)")
    }
}
