import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The behaviour every ``CacheStore`` must have, run against the in-memory store and the SQLite
/// store alike (as matrix-rust-sdk runs one integration suite against each state store).
public enum CacheStoreConformance {
    public typealias Check = ConformanceCheck<any CacheStore>

    public static let checks: [Check] = [
        Check("an empty store holds nothing") { store in
            try requireEqual(try await store.account(), nil, "account")
            try requireEqual(try await store.contacts(), [], "contacts")
            try requireEqual(
                try await store.messages(in: Fixtures.theoAlice.conversationID, limit: 50, before: nil), [], "messages")
            try requireEqual(try await store.offers(), [], "offers")
            try requireEqual(try await store.upcomingSessions(at: Fixtures.epoch), [], "upcoming")
            try requireEqual(try await store.syncState(), SyncState(), "sync state")
        },
        Check("read positions move forward only, stamp what they pass and count the unread") { store in
            try await store.setAccount(Fixtures.therapist)
            let conversation = Fixtures.theoAlice.conversationID
            let fromAlice = (1...4).map { Fixtures.message("a\($0)", at: TimeInterval($0)) }
            let fromTheo = Fixtures.message("t5", at: 5, fromTherapist: true)
            try await store.apply(
                ChangePage(
                    changes: [.user(Fixtures.therapist), .user(Fixtures.alice), .user(Fixtures.bob)]
                        + (fromAlice + [fromTheo]).map(Change.message), cursor: FeedCursor("c1")))
            try requireEqual(try await store.contacts().map(\.unread), [4, 0], "unread before (Alice, Bob)")
            try require(try await store.isContact(Fixtures.alice.id), "Alice is a contact")
            try require(!(try await store.isContact(Fixtures.therapist.id)), "the account is not its own contact")
            try require(!(try await store.isContact(Fixtures.carol.id)), "Carol is nobody's here")
            func position(_ upTo: Message, at seconds: TimeInterval) -> ReadPosition {
                ReadPosition(
                    conversationID: conversation, readerID: Fixtures.therapist.id, messageID: upTo.id,
                    upTo: upTo.createdAt, readAt: Fixtures.epoch + seconds)
            }
            try await store.merge([.read(position(fromAlice[1], at: 10))])
            try requireEqual(try await store.contacts().first?.unread, 2, "unread after reading two")
            // A position not stored yet (a queued receipt) counts when it is ahead, not behind.
            try requireEqual(
                try await store.unreadCount(
                    in: conversation, for: Fixtures.therapist.id, readUpTo: fromAlice[2].createdAt),
                1, "unread with a queued receipt ahead")
            try requireEqual(
                try await store.unreadCount(
                    in: conversation, for: Fixtures.therapist.id, readUpTo: fromAlice[0].createdAt),
                2, "unread with a queued receipt behind")
            try requireEqual(
                try await store.readPosition(of: Fixtures.therapist.id, in: conversation)?.messageID, "a2", "position")
            try requireEqual(try await store.message("a1")?.readAt, Fixtures.epoch + 10, "a1 read")
            try requireEqual(try await store.message("a3")?.readAt, nil, "a3 unread")
            // An older position changes nothing (the latest wins, whatever the order).
            try await store.merge([.read(position(fromAlice[0], at: 20))])
            try requireEqual(
                try await store.readPosition(of: Fixtures.therapist.id, in: conversation)?.messageID, "a2",
                "position kept")
            try await store.merge([.read(position(fromTheo, at: 30))])
            try requireEqual(try await store.contacts().first?.unread, 0, "all read")
            try requireEqual(try await store.message("a1")?.readAt, Fixtures.epoch + 10, "first read time kept")
            try requireEqual(try await store.message("a4")?.readAt, Fixtures.epoch + 30, "a4 read later")
            try requireEqual(try await store.message("t5")?.readAt, nil, "his own text is not his to read")
            // An older copy of a message does not make it unread again.
            try await store.merge([.message(fromAlice[0])])
            try requireEqual(try await store.message("a1")?.readAt, Fixtures.epoch + 10, "read stays read")
            try requireEqual(
                try await store.unreadCount(in: conversation, for: Fixtures.therapist.id, readUpTo: nil), 0,
                "unread by the stored position")
            try requireEqual(
                try await store.readPosition(of: Fixtures.alice.id, in: conversation), nil, "Alice has not read")
        },
        Check("the account round-trips") { store in
            try await store.setAccount(Fixtures.alice)
            try requireEqual(try await store.account(), Fixtures.alice, "account")
            var renamed = Fixtures.alice
            renamed.name = "Alice B."
            try await store.setAccount(renamed)
            try requireEqual(try await store.account(), renamed, "account after update")
        },
        Check("a page stores every kind of entity and its cursor") { store in
            let message = Fixtures.message("m1", body: "Ünïcödé 🙂 and \"quotes\"\nnew line")
            let offer = Fixtures.offer("o1")
            let session = Fixtures.session("s1", startsAt: 60)
            try await store.apply(
                ChangePage(
                    changes: [
                        .user(Fixtures.therapist), .message(message), .offer(offer), .session(session),
                    ], cursor: FeedCursor("c1")))
            try requireEqual(try await store.message("m1"), message, "message")
            try requireEqual(try await store.offer("o1"), offer, "offer")
            try requireEqual(try await store.session("s1"), session, "session")
            try requireEqual(try await store.syncState().cursor, FeedCursor("c1"), "cursor")
            try requireEqual(try await store.contacts().map(\.user), [Fixtures.therapist], "contacts")
        },
        Check("a batch of pages applies them in order and keeps the last cursor") { store in
            var edited = Fixtures.message("m1")
            edited.body = "Edited in the second page"
            try await store.apply([
                ChangePage(
                    changes: [.message(Fixtures.message("m1")), .offer(Fixtures.offer("o1"))], cursor: FeedCursor("c1"),
                    hasMore: true),
                ChangePage(
                    changes: [.message(edited), .deleted(.offer("o1"))], cursor: FeedCursor("c2"), hasMore: true),
                ChangePage(changes: [.session(Fixtures.session("s1"))], cursor: FeedCursor("c3")),
            ])
            try requireEqual(try await store.message("m1")?.body, "Edited in the second page", "message")
            try requireEqual(try await store.offer("o1"), nil, "offer")
            try requireEqual(try await store.session("s1")?.id, "s1", "session")
            try requireEqual(try await store.syncState().cursor, FeedCursor("c3"), "cursor")
        },
        Check("merging changes stores them and leaves the cursor alone") { store in
            try await store.apply(ChangePage(changes: [.message(Fixtures.message("m1"))], cursor: FeedCursor("c5")))
            var delivered = Fixtures.message("m2", at: 1)
            delivered.body = "Delivered outside the feed"
            try await store.merge([.message(delivered), .offer(Fixtures.offer("o1")), .deleted(.message("m1"))])
            try requireEqual(try await store.message("m2"), delivered, "merged message")
            try requireEqual(try await store.offer("o1")?.id, "o1", "merged offer")
            try requireEqual(try await store.message("m1"), nil, "merged deletion")
            try requireEqual(try await store.syncState().cursor, FeedCursor("c5"), "cursor")
        },
        Check("an upsert replaces the entity with the same id") { store in
            var message = Fixtures.message("m1")
            message.deliveryState = .pending
            try await store.apply(ChangePage(changes: [.message(message)], cursor: FeedCursor("c1")))
            message.deliveryState = .sent
            message.body = "Edited"
            var offer = Fixtures.offer("o1")
            try await store.apply(ChangePage(changes: [.message(message), .offer(offer)], cursor: FeedCursor("c2")))
            offer.state = .declined
            offer.closedAt = Fixtures.epoch + 10
            try await store.apply(ChangePage(changes: [.offer(offer)], cursor: FeedCursor("c3")))
            try requireEqual(try await store.message("m1"), message, "message")
            try requireEqual(try await store.offers(), [offer], "offers")
            try requireEqual(try await store.syncState().cursor, FeedCursor("c3"), "cursor")
        },
        Check("deletions remove entities, and unknown deletions are ignored") { store in
            try await store.apply(
                ChangePage(
                    changes: [
                        .user(Fixtures.bob), .message(Fixtures.message("m1")), .offer(Fixtures.offer("o1")),
                        .session(Fixtures.session("s1")),
                    ], cursor: FeedCursor("c1")))
            try await store.apply(
                ChangePage(
                    changes: [
                        .deleted(.user(Fixtures.bob.id)), .deleted(.message("m1")), .deleted(.offer("o1")),
                        .deleted(.session("s1")), .deleted(.message("never-there")),
                    ], cursor: FeedCursor("c2")))
            try requireEqual(try await store.contacts(), [], "contacts")
            try requireEqual(try await store.message("m1"), nil, "message")
            try requireEqual(try await store.offer("o1"), nil, "offer")
            try requireEqual(try await store.session("s1"), nil, "session")
        },
        Check("messages come newest first, paged with limit and before") { store in
            // 120 messages; every pair shares a timestamp, so order falls back to the id.
            let all = (0..<120).map { i in
                Fixtures.message(String(format: "m%03d", i), at: TimeInterval(i / 2))
            }
            try await store.apply(ChangePage(changes: all.shuffled().map(Change.message), cursor: FeedCursor("c")))
            let expected = all.reversed().map(\.id)
            let conversation = Fixtures.theoAlice.conversationID
            let first = try await store.messages(in: conversation, limit: 50, before: nil)
            try requireEqual(first.map(\.id), Array(expected[0..<50]), "first page")
            let second = try await store.messages(in: conversation, limit: 50, before: first.last?.id)
            try requireEqual(second.map(\.id), Array(expected[50..<100]), "second page")
            let third = try await store.messages(in: conversation, limit: 50, before: second.last?.id)
            try requireEqual(third.map(\.id), Array(expected[100..<120]), "last page")
            try requireEqual(try await store.messages(in: conversation, limit: 0, before: nil), [], "limit 0")
            try requireEqual(
                try await store.messages(in: conversation, limit: 5, before: "unknown"), [], "unknown anchor")
        },
        Check("messages are scoped to their conversation") { store in
            try await store.apply(
                ChangePage(
                    changes: [
                        .message(Fixtures.message("a1")),
                        .message(Fixtures.message("b1", in: Fixtures.theoBob)),
                    ], cursor: FeedCursor("c")))
            try requireEqual(
                try await store.messages(in: Fixtures.theoAlice.conversationID, limit: 10, before: nil).map(\.id),
                ["a1"], "alice")
            try requireEqual(
                try await store.messages(in: Fixtures.theoBob.conversationID, limit: 10, before: nil).map(\.id), ["b1"],
                "bob")
        },
        Check("dates keep millisecond precision") { store in
            let message = Fixtures.message("m1", at: 0.123)
            try await store.apply(ChangePage(changes: [.message(message)], cursor: FeedCursor("c")))
            try requireEqual(try await store.message("m1")?.createdAt, Fixtures.epoch + 0.123, "createdAt")
        },
        Check("upcoming sessions exclude ended ones and are ordered by start") { store in
            try await store.apply(
                ChangePage(
                    changes: [
                        .session(Fixtures.session("s_late", startsAt: 900)),
                        .session(Fixtures.session("s_ended", startsAt: -600, endedAt: -10)),
                        .session(Fixtures.session("s_overtime", startsAt: -7_200, minutes: 5)),
                        .session(Fixtures.session("s_now", startsAt: 0)),
                    ], cursor: FeedCursor("c")))
            try requireEqual(
                try await store.upcomingSessions(at: Fixtures.epoch).map(\.id),
                ["s_overtime", "s_now", "s_late"], "upcoming")
        },
        Check("offers come newest first") { store in
            try await store.apply(
                ChangePage(
                    changes: [
                        .offer(Fixtures.offer("o_old", at: 0)),
                        .offer(Fixtures.offer("o_new", at: 100, state: .accepted)),
                        .offer(Fixtures.offer("o_mid", at: 50, state: .expired)),
                    ], cursor: FeedCursor("c")))
            try requireEqual(try await store.offers().map(\.id), ["o_new", "o_mid", "o_old"], "offers")
            try requireEqual(try await store.offer("o_new")?.sessionID, SessionID(offer: "o_new"), "session id")
        },
        Check("contacts exclude the account and carry the presence last seen") { store in
            try await store.setAccount(Fixtures.therapist)
            try await store.apply(
                ChangePage(
                    changes: [
                        .user(Fixtures.therapist), .user(Fixtures.bob), .user(Fixtures.alice),
                    ], cursor: FeedCursor("c")))
            var contacts = try await store.contacts()
            try requireEqual(contacts.map(\.id), [Fixtures.alice.id, Fixtures.bob.id], "contacts by name")
            try require(contacts.allSatisfy { !$0.presence.isOnline }, "offline until seen")
            let seen = Presence(userID: Fixtures.alice.id, isOnline: true, lastSeenAt: Fixtures.epoch + 5)
            try await store.updatePresence([seen])
            contacts = try await store.contacts()
            try requireEqual(contacts.first?.presence, seen, "alice's presence")
            try requireEqual(contacts.last?.presence.isOnline, false, "bob's presence")
        },
        Check("replacing all keeps only the snapshot") { store in
            try await store.setAccount(Fixtures.therapist)
            try await store.apply(
                ChangePage(
                    changes: [
                        .user(Fixtures.bob), .message(Fixtures.message("old")), .offer(Fixtures.offer("o_old")),
                        .session(Fixtures.session("s_old")),
                    ], cursor: FeedCursor("c1")))
            try await store.markHistoryComplete(Fixtures.theoAlice.conversationID)
            try await store.replaceAll(
                with: ChangePage(
                    changes: [
                        .user(Fixtures.alice), .message(Fixtures.message("new")),
                    ], cursor: FeedCursor("c9")))
            try requireEqual(try await store.contacts().map(\.id), [Fixtures.alice.id], "contacts")
            try requireEqual(try await store.message("old"), nil, "old message")
            try requireEqual(try await store.message("new")?.id, "new", "new message")
            try requireEqual(try await store.offers(), [], "offers")
            try requireEqual(try await store.session("s_old"), nil, "session")
            try requireEqual(try await store.syncState().cursor, FeedCursor("c9"), "cursor")
            try requireEqual(try await store.account(), Fixtures.therapist, "account")
            try requireEqual(
                try await store.isHistoryComplete(Fixtures.theoAlice.conversationID), false, "history watermark")
        },
        Check("history completeness is tracked per conversation") { store in
            try await store.markHistoryComplete(Fixtures.theoAlice.conversationID)
            try await store.markHistoryComplete(Fixtures.theoAlice.conversationID)
            try requireEqual(try await store.isHistoryComplete(Fixtures.theoAlice.conversationID), true, "alice")
            try requireEqual(try await store.isHistoryComplete(Fixtures.theoBob.conversationID), false, "bob")
        },
        Check("recording a sync keeps the cursor") { store in
            try await store.apply(ChangePage(changes: [], cursor: FeedCursor("c7")))
            try await store.recordSync(at: Fixtures.epoch + 30)
            try requireEqual(
                try await store.syncState(), SyncState(cursor: FeedCursor("c7"), lastSyncAt: Fixtures.epoch + 30),
                "sync state")
        },
        Check("the shared server time round-trips exactly and replaces the one before") { store in
            try await store.apply(ChangePage(changes: [], cursor: FeedCursor("c8")))
            try await store.recordSync(at: Fixtures.epoch + 31)
            let first = ServerTimeEstimate(bootID: "boot-a", offset: 812_345_678.123456, sampledAt: 1_234.5)
            try await store.recordServerTime(first, serverClockOffset: -3_600.25)
            let second = ServerTimeEstimate(bootID: "boot-b", offset: -0.0005, sampledAt: 7.25)
            try await store.recordServerTime(second, serverClockOffset: 7_200.5)
            try requireEqual(
                try await store.syncState(),
                SyncState(
                    cursor: FeedCursor("c8"), lastSyncAt: Fixtures.epoch + 31, serverTime: second,
                    serverClockOffset: 7_200.5),
                "sync state")
        },
        Check("search folds, ranks whole words first, keeps to a conversation and skips system texts") { store in
            var ready = Fixtures.message("s1", at: 1, body: "Your session is now ready. Click here to attend.")
            ready.kind = .sessionReady
            try await store.apply(
                ChangePage(
                    changes: [
                        .message(Fixtures.message("m1", at: 2, body: "Café résumé, SLEEPLESS again")),
                        .message(Fixtures.message("m2", at: 3, body: "I sleep better")),
                        .message(Fixtures.message("m3", in: Fixtures.theoBob, at: 4, body: "sleepwalking")),
                        .message(ready),
                    ], cursor: FeedCursor("c9")))
            let all = try await store.search("slee", in: nil, limit: 10).map(\.message.id)
            try requireEqual(Set(all), ["m1", "m2", "m3"], "slee")
            try requireEqual(
                try await store.search("sleep", in: nil, limit: 10).first?.message.id, "m2", "the whole word first")
            try requireEqual(
                try await store.search("cafe resume", in: nil, limit: 10).map(\.message.id), ["m1"], "folded")
            try requireEqual(
                try await store.search("slee", in: Fixtures.theoBob.conversationID, limit: 10).map(\.message.id),
                ["m3"], "one conversation")
            try requireEqual(try await store.search("session ready", in: nil, limit: 10), [], "system texts")
            try requireEqual(try await store.search("!!!", in: nil, limit: 10), [], "no word")
        },
    ]
}
