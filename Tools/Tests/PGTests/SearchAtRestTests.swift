import Foundation
import PlusGuidanceTesting
import Testing

/// `pg search` and sealed identities through the built commands and a real server.
extension EncryptionTests {
    @Test func aProfileOfTheLastReleaseKeepsEverythingSealsWhoItNamesAndIsSearchable() async throws {
        let machine = try await Machine.launch(fixture: "sealed-bodies-profile-0.2", as: "theo")
        defer { machine.stop() }
        let profile = machine.profile("theo")
        let identities = ["Alice", "alice@example.com", "Theo Therapist", "therapist@example.com", "voice"]
        // The fixture really has them in clear (names, addresses, the offer's type).
        #expect(Self.filesHolding(identities, under: profile) == ["accounts/usr_therapist/cache.sqlite"])

        // Offline: everything is still there, searchable, and nothing readable is left.
        machine.server.stop()
        let clients = try await machine.pg("theo", ["--json", "clients"])
        #expect(clients.status == 0, "\(clients.stderr)")
        #expect(
            clients.stdout.contains("\"name\":\"Alice\"") && clients.stdout.contains("\"email\":\"bob@example.com\""))
        #expect(try await machine.messages("theo", "alice@example.com").contains("CANARY-REPLY-a8c2"))
        let offers = try await machine.pg("theo", ["--json", "offers"]).stdout
        #expect(offers.contains("\"type\":\"voice\"") && offers.contains("\"durationMinutes\":30"))
        let found = try await machine.pg("theo", ["--json", "search", "schlafstorung slee"])
        #expect(found.status == 0)
        #expect(found.stdout.contains("CANARY-REPLY-a8c2") && found.stdout.contains("\"snippet\""))
        #expect(!found.stdout.contains("CANARY-SYNCED-5d1e"))
        let words = ["CANARY", "Schlaf", "SLEEPLESS", "sleep"]
        #expect(Self.filesHolding(Self.secrets(identities + words), under: profile) == [])

        // Online again: a new text is indexed as it arrives, and still nothing is readable.
        try await machine.server.start()
        try await machine.signIn("theo", "therapist@example.com")
        try await machine.signIn("alice", "alice@example.com")
        #expect(try await machine.pg("alice", ["send", "therapist@example.com", "Albtraum CANARY-NEW-77"]).status == 0)
        #expect(try await machine.pg("theo", ["sync"]).status == 0)
        #expect(try await machine.pg("theo", ["search", "albtr"]).stdout.contains("Albtraum CANARY-NEW-77"))
        #expect(Self.filesHolding(Self.secrets(identities + words + ["Albtraum"]), under: profile) == [])
    }

    @Test func pgSearchAnswersInTextAndJSONAndRefusesBadUsageClearly() async throws {
        let machine = try await Machine.launch()
        defer { machine.stop() }
        try await machine.signIn("theo", "therapist@example.com")
        try await machine.signIn("alice", "alice@example.com")
        #expect(try await machine.pg("alice", ["send", "therapist@example.com", "Café résumé, finally"]).status == 0)
        #expect(try await machine.pg("theo", ["sync"]).status == 0)
        let text = try await machine.pg("theo", ["search", "CAFE resume"])
        #expect(text.status == 0 && text.stdout.contains("them: Café résumé, finally"), "\(text.stdout)")
        let json = try await machine.pg("theo", ["--json", "search", "cafe", "--with", "alice@example.com"])
        let hits = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(hits.map { $0["snippet"] as? String } == ["Café résumé, finally"])
        #expect(hits.first?["senderId"] as? String == "usr_alice")
        // A query read from standard input stays out of the process list.
        let piped = try await machine.pg("theo", ["search", "--stdin"], stdin: "résumé\n")
        #expect(piped.status == 0 && piped.stdout.contains("Café résumé, finally"))
        // Any text is a query; bad usage and refusals are one line and their exit code.
        #expect(try await machine.pg("theo", ["--json", "search", "\"((* NEAR"]).stdout == "[]\n")
        for (arguments, status) in [
            (["search", "x", "--limit", "0"], Int32(64)), (["search"], 64),
            (["search", "x", "--with", "carol@example.com"], 65),
        ] {
            let run = try await machine.pg("theo", arguments)
            #expect(run.status == status, "\(arguments): \(run.stderr)")
            #expect(!run.stderr.isEmpty && !run.stderr.contains("Café"))
        }
        #expect(try await machine.pg("nobody", ["search", "x"]).status == 77)
    }
}
