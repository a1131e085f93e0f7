import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting
import Testing

/// Offline search on a real cache file: its rules against Python's Unicode (the reference
/// script), its index kept with the messages, and nothing readable in any file.
@Suite struct SearchTests {
    func store(_ folder: TemporaryFolder) throws -> SQLiteCacheStore {
        try SQLiteCacheStore(path: folder.path + "/cache.sqlite", cipher: testCipher)
    }

    func bodies(_ hits: [SearchHit]) -> [String] { hits.map(\.message.body) }

    @Test func foldsCaseAndAccentsMatchesPrefixesAndNeedsEveryWord() async throws {
        let folder = try TemporaryFolder()
        let cache = try store(folder)
        let texts = [
            "Café résumé on Tuesday", "Schlafstörung seit Wochen", "I was sleeping badly",
            "SLEEPLESS again", "sleep and café", "Straße", "ΟΔΟΣ", "ｶﾀｶﾅ",
        ]
        try await cache.apply(
            ChangePage(
                changes: texts.enumerated().map {
                    .message(Fixtures.message("m\($0.offset)", at: Double($0.offset), body: $0.element))
                },
                cursor: FeedCursor("c")))
        func found(_ query: String) async throws -> Set<String> {
            Set(bodies(try await cache.search(query, in: nil, limit: 100)))
        }
        #expect(try await found("cafe resume") == ["Café résumé on Tuesday"])
        #expect(try await found("schlafstorung") == ["Schlafstörung seit Wochen"])
        #expect(try await found("slee") == ["I was sleeping badly", "SLEEPLESS again", "sleep and café"])
        #expect(try await found("SLEEPLESS") == ["SLEEPLESS again"])
        #expect(try await found("sleep cafe") == ["sleep and café"])
        #expect(try await found("strasse") == ["Straße"])
        #expect(try await found("οδος") == ["ΟΔΟΣ"])
        #expect(try await found("カタ") == ["ｶﾀｶﾅ"])
        // A word past the indexed prefixes is checked against the bodies themselves.
        #expect(try await found("schlafstörungen").isEmpty)
        // Any text is a query: nothing to match is no match, never an error.
        for query in ["", "   ", "!!!", "\"((*", "AND OR NOT", "NEAR(a b)", "*", "'; DROP TABLE message; --"] {
            #expect(try await found(query).isEmpty, "\(query)")
        }
        // The session flow's fixed texts are not indexed (their kind is in clear).
        var ready = Fixtures.message("sys1", at: 50, body: "Your session is now ready. Click here to attend.")
        ready.kind = .sessionReady
        try await cache.merge([.message(ready)])
        #expect(try await found("session ready").isEmpty)
        // Among equals, the newest first.
        #expect(bodies(try await cache.search("slee", in: nil, limit: 2)).count == 2)
        let both = try await cache.search("cafe", in: nil, limit: 10)
        #expect(both.map(\.message.id) == ["m4", "m0"])
    }

    @Test func findsExactlyWhatPythonsUnicodeFindsOverTenThousandMessagesInSeveralScripts() async throws {
        let script =
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/scripts/search-reference.py"
        let reference = try await run(["python3", script, "--seed", "7", "--messages", "10000", "--queries", "300"])
        #expect(reference.status == 0)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(reference.output.utf8)) as? [String: Any])
        let messages = try #require(json["messages"] as? [[String: String]])
        let queries = try #require(json["queries"] as? [[String: Any]])
        #expect(messages.count == 10_000)
        let folder = try TemporaryFolder()
        let cache = try store(folder)
        // Ten pages in one commit, as a first sync writes them.
        let changes = messages.enumerated().map { index, message in
            Change.message(Fixtures.message(message["id"]!, at: Double(index), body: message["body"]!))
        }
        try await cache.apply(
            stride(from: 0, to: changes.count, by: 1_000).map {
                ChangePage(
                    changes: Array(changes[$0..<min($0 + 1_000, changes.count)]), cursor: FeedCursor("c\($0)"),
                    hasMore: $0 + 1_000 < changes.count)
            })
        var nonEmpty = 0
        for query in queries {
            let text = try #require(query["text"] as? String)
            let expected = try #require(query["expected"] as? [String])
            let hits = try await cache.search(text, in: nil, limit: 20_000)
            #expect(hits.map(\.message.id.rawValue).sorted() == expected, "\(text)")
            if !expected.isEmpty { nonEmpty += 1 }
        }
        // The corpus is not trivially empty of matches.
        #expect(nonEmpty > queries.count / 2)
    }

    @Test func onlyTheNamedConversationWhenOneIsGiven() async throws {
        let folder = try TemporaryFolder()
        let cache = try store(folder)
        try await cache.apply(
            ChangePage(
                changes: [
                    .message(Fixtures.message("a1", in: Fixtures.theoAlice, body: "sleep diary")),
                    .message(Fixtures.message("b1", in: Fixtures.theoBob, at: 1, body: "sleep diary too")),
                ], cursor: FeedCursor("c")))
        let alice = Fixtures.theoAlice.conversationID
        #expect(try await cache.search("sleep", in: alice, limit: 10).map(\.message.id) == ["a1"])
        #expect(try await cache.search("sleep", in: nil, limit: 10).count == 2)
    }

    @Test func theIndexFollowsDeletionsResyncsAndDroppedRows() async throws {
        let folder = try TemporaryFolder()
        let cache = try store(folder)
        try await cache.apply(
            ChangePage(
                changes: [
                    .message(Fixtures.message("m1", body: "insomnia notes")),
                    .message(Fixtures.message("m2", at: 1, body: "insomnia again")),
                ], cursor: FeedCursor("c")))
        // An update of a cached message (its read time) keeps it findable once.
        var read = Fixtures.message("m1", body: "insomnia notes")
        read.readAt = Fixtures.epoch + 5
        try await cache.merge([.message(read)])
        #expect(try await cache.search("insomnia", in: nil, limit: 10).map(\.message.id) == ["m2", "m1"])
        try await cache.merge([.deleted(.message("m2"))])
        #expect(try await cache.search("insomnia", in: nil, limit: 10).map(\.message.id) == ["m1"])
        try await cache.replaceAll(
            with: ChangePage(changes: [.message(Fixtures.message("m3", body: "new start"))], cursor: FeedCursor("d")))
        #expect(try await cache.search("insomnia", in: nil, limit: 10).isEmpty)
        #expect(try await cache.search("new", in: nil, limit: 10).map(\.message.id) == ["m3"])
        // A body that no longer opens is left out and recorded, as every read does; dropping it
        // (the next pull) rebuilds the index without it.
        try await cache.merge([.message(Fixtures.message("m4", at: 2, body: "new insomnia"))])
        try await cache.database.write { db in
            try db.execute(sql: "UPDATE message SET body = zeroblob(40) WHERE id = 'm4'")
        }
        #expect(try await cache.search("new", in: nil, limit: 10).map(\.message.id) == ["m3"])
        #expect(cache.unreadableRowCount() == 1)
        #expect(try await cache.dropUnreadableRows())
        #expect(try await cache.search("new", in: nil, limit: 10).map(\.message.id) == ["m3"])
        // FTS5's own check of its index against what it holds.
        try await cache.database.write { db in
            try db.execute(sql: "INSERT INTO searchIndex (searchIndex, rank) VALUES ('integrity-check', 0)")
        }
    }

    @Test func namesAddressesDetailsAndWordsAreInNoFileAndAddressesAreFoundByFingerprint() async throws {
        let folder = try TemporaryFolder()
        let cache = try store(folder)
        let client = User(id: "usr_zed", email: "zoe.canary@example.org", name: "Zoë Canaryname", role: .client)
        let relation = CareRelation(therapistID: Fixtures.therapist.id, clientID: client.id)
        try await cache.setAccount(Fixtures.therapist)
        try await cache.apply(
            ChangePage(
                changes: [
                    .user(client), .user(Fixtures.alice),
                    .message(Fixtures.message("m1", in: relation, body: "canaryword about nightmares")),
                    .offer(Fixtures.offer("o1")), .session(Fixtures.session("s1")),
                ], cursor: FeedCursor("c")))
        #expect(try await cache.contacts().map(\.user) == [Fixtures.alice, client])
        #expect(try await cache.account() == Fixtures.therapist)
        #expect(try await cache.contact(email: "ZOE.CANARY@example.org") == client.id)
        #expect(try await cache.contact(email: "nobody@example.org") == nil)
        #expect(try await cache.offer("o1") == Fixtures.offer("o1"))
        #expect(try await cache.session("s1") == Fixtures.session("s1"))
        #expect(try await cache.search("nightm", in: nil, limit: 5).map(\.message.id) == ["m1"])
        let needles = [
            "Canaryname", "zoe.canary", "canaryword", "nightmares", "Theo Therapist", "therapist@example.com",
            "video", "voice",
        ]
        // (Ids stay in clear: "usr_alice" is not a name.)
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let data = FileManager.default.contents(atPath: folder.path + "/" + file) ?? Data()
            for needle in needles {
                #expect(data.range(of: Data(needle.utf8)) == nil, "\(needle) in \(file)")
                #expect(data.range(of: Data(needle.lowercased().utf8)) == nil, "\(needle) in \(file)")
            }
        }
    }

    @Test func sipHashMatchesTheReferenceVectors() {
        // SipHash-2-4 with key 00…0f (the paper's appendix and the reference implementation).
        #expect(BlindIndex.sipHashForTesting(Array(0..<15)) == 0xa129_ca61_49be_45e5)
        #expect(BlindIndex.sipHashForTesting([]) == 0x726f_db47_dd0e_0e31)
        #expect(BlindIndex.sipHashForTesting(Array(0..<8)) == 0x93f5_f579_9a93_2462)
    }
}
