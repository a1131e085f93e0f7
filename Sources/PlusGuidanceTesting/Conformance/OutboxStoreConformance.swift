import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The behaviour every ``OutboxStore`` must have (R8: nothing the user did is lost or duplicated).
public enum OutboxStoreConformance {
    public typealias Check = ConformanceCheck<any OutboxStore>

    public static let checks: [Check] = [
        Check("entries come in enqueue order with increasing sequence numbers") { store in
            var sequences: [Int64] = []
            for key in ["k3", "k1", "k2"] {
                sequences.append(try await store.enqueue(Fixtures.sendEntry(key)).sequence)
            }
            try require(sequences == sequences.sorted() && Set(sequences).count == 3, "sequences \(sequences)")
            try requireEqual(try await store.entries().map(\.id), ["k3", "k1", "k2"], "order")
        },
        Check("enqueue is idempotent on the key") { store in
            let first = try await store.enqueue(Fixtures.sendEntry("k1", body: "First"))
            let again = try await store.enqueue(Fixtures.sendEntry("k1", body: "Second"))
            try requireEqual(again, first, "second enqueue returns the stored entry")
            try requireEqual(try await store.entries().count, 1, "count")
            try requireEqual(try await store.entry("k1")?.outgoingMessage?.body, "First", "body kept")
        },
        Check("every action kind round-trips") { store in
            let actions: [OutboxAction] = [
                .sendMessage(Fixtures.sendEntry("m").outgoingMessage!), .acceptOffer("o1"),
                .declineOffer("o2"), .stopSession("s1"),
                .markRead(
                    ReadMark(
                        conversationID: Fixtures.theoAlice.conversationID, peerID: Fixtures.therapist.id,
                        messageID: "m9", upTo: Fixtures.epoch + 9)),
            ]
            for (index, action) in actions.enumerated() {
                _ = try await store.enqueue(
                    OutboxEntry(id: IdempotencyKey("k\(index)"), action: action, enqueuedAt: Fixtures.epoch + 0.5))
            }
            let stored = try await store.entries()
            try requireEqual(stored.map(\.action), actions, "actions")
            try requireEqual(
                stored.map(\.enqueuedAt), Array(repeating: Fixtures.epoch + 0.5, count: actions.count), "enqueuedAt")
        },
        Check("a read receipt supersedes the pending ones it names, never one in flight or failed") { store in
            func receipt(_ key: String, upTo offset: TimeInterval) -> OutboxEntry {
                OutboxEntry(
                    id: IdempotencyKey(key),
                    action: .markRead(
                        ReadMark(
                            conversationID: Fixtures.theoAlice.conversationID, peerID: Fixtures.therapist.id,
                            messageID: MessageID("m\(Int(offset))"), upTo: Fixtures.epoch + offset)),
                    enqueuedAt: Fixtures.epoch)
            }
            _ = try await store.enqueue(receipt("pending", upTo: 1))
            var flying = try await store.enqueue(receipt("flying", upTo: 2))
            flying.beginAttempt()
            try await store.update(flying)
            _ = try await store.enqueue(Fixtures.sendEntry("text"))
            let latest = try await store.enqueue(receipt("latest", upTo: 3), superseding: ["pending", "flying"])
            try requireEqual(try await store.entries().map(\.id), ["flying", "text", "latest"], "entries")
            try require(latest.sequence > flying.sequence, "the new receipt goes last")
            try requireEqual(
                try await store.entries(in: Fixtures.theoAlice.conversationID).map(\.id), ["flying", "text", "latest"],
                "a receipt keeps its conversation's order")
        },
        Check("update stores the state after a transition") { store in
            var entry = try await store.enqueue(Fixtures.sendEntry("k1"))
            entry.beginAttempt()
            entry.failTransiently(
                OutboxFailure(code: "cannot_connect", reason: "refused"), retryAt: Fixtures.epoch + 30)
            try await store.update(entry)
            try requireEqual(try await store.entry("k1"), entry, "after transient failure")
            entry.beginAttempt()
            entry.failPermanently(OutboxFailure(code: "offer_expired", reason: "Offer has expired"))
            try await store.update(entry)
            let stored = try await store.entry("k1")
            try requireEqual(stored?.state, .failed, "state")
            try requireEqual(stored?.attempts, 2, "attempts")
            try requireEqual(stored?.lastError?.code, "offer_expired", "error")
            try requireEqual(stored?.notBefore, nil, "notBefore")
        },
        Check("updating an unknown key throws") { store in
            try await requireThrows("update of unknown key") {
                try await store.update(Fixtures.sendEntry("missing"))
            }
            try requireEqual(try await store.entries(), [], "entries")
        },
        Check("remove deletes only that entry, and an unknown key is a no-op") { store in
            _ = try await store.enqueue(Fixtures.sendEntry("k1"))
            _ = try await store.enqueue(Fixtures.sendEntry("k2"))
            try await store.remove("k1")
            try await store.remove("never")
            try requireEqual(try await store.entries().map(\.id), ["k2"], "remaining")
        },
        Check("a removed key can be enqueued again as a new entry at the end") { store in
            let first = try await store.enqueue(Fixtures.sendEntry("k1"))
            _ = try await store.enqueue(Fixtures.sendEntry("k2"))
            try await store.remove("k1")
            let again = try await store.enqueue(Fixtures.sendEntry("k1"))
            try require(again.sequence > first.sequence, "sequence grows: \(first.sequence) → \(again.sequence)")
            try requireEqual(try await store.entries().map(\.id), ["k2", "k1"], "order")
        },
        Check("a delivery round's candidates hold everything a round can pick, and the earliest retry") { store in
            // Random outboxes: messages of three conversations and offer answers, each pending,
            // waiting for a backoff, in flight or failed, some with a deadline.
            var random = SeededGenerator(seed: 14)
            let conversations = [
                Fixtures.theoAlice, Fixtures.theoBob, CareRelation(therapistID: "usr_t2", clientID: "usr_c2"),
            ]
            for round in 0..<40 {
                try await store.removeAll()
                for index in 0..<Int.random(in: 0...14, using: &random) {
                    let key = IdempotencyKey("r\(round)-\(index)")
                    var entry =
                        Bool.random(using: &random)
                        ? OutboxEntry(id: key, action: .acceptOffer(OfferID("o\(index)")), enqueuedAt: Fixtures.epoch)
                        : OutboxEntry(
                            id: key,
                            action: .sendMessage(
                                Fixtures.message("m\(round)-\(index)", in: conversations.randomElement(using: &random)!)
                            ),
                            enqueuedAt: Fixtures.epoch)
                    entry = try await store.enqueue(entry)
                    if Int.random(in: 0..<4, using: &random) == 0 { entry.deadline = Fixtures.epoch + 5 }
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0: break
                    case 1:
                        entry.beginAttempt()
                        entry.failTransiently(
                            OutboxFailure(code: "cannot_connect", reason: "refused"),
                            retryAt: Fixtures.epoch + Double(Int.random(in: 0...20, using: &random)))
                    case 2: entry.beginAttempt()
                    default:
                        entry.beginAttempt()
                        entry.failPermanently(OutboxFailure(code: "offer_expired", reason: "expired"))
                    }
                    try await store.update(entry)
                }
                let entries = try await store.entries()
                for now in [Fixtures.epoch, Fixtures.epoch + 10, Date.distantFuture] {
                    let candidates = try await store.deliveryCandidates(at: now)
                    // In enqueue order, drawn from the outbox.
                    try require(
                        candidates.map(\.sequence) == candidates.map(\.sequence).sorted()
                            && Set(candidates).isSubset(of: Set(entries)),
                        "round \(round): candidates are entries in order")
                    var waiting: Set<ConversationID> = []
                    for entry in entries {
                        let conversation = entry.action.orderingConversation
                        let required = conversation.map { !waiting.contains($0) } ?? true || entry.deadline != nil
                        if required {
                            try require(
                                candidates.contains(entry), "round \(round) at \(now): \(entry.id) is missing")
                        }
                        if let conversation, !entry.isDue(at: now) { waiting.insert(conversation) }
                    }
                }
                try requireEqual(
                    try await store.earliestRetry(),
                    entries.compactMap { $0.state == .pending ? $0.notBefore : nil }.min(),
                    "round \(round): earliest retry")
                try requireEqual(
                    try await store.pendingWithDeadline(),
                    entries.filter { $0.state == .pending && $0.deadline != nil },
                    "round \(round): pending entries with a deadline")
            }
        },
        Check("entries left in flight are recovered to pending") { store in
            var a = try await store.enqueue(Fixtures.sendEntry("a"))
            var b = try await store.enqueue(Fixtures.sendEntry("b"))
            a.beginAttempt()
            b.beginAttempt()
            b.failPermanently(OutboxFailure(code: "x", reason: "y"))
            try await store.update(a)
            try await store.update(b)
            try requireEqual(try await store.recoverInFlight(), 1, "recovered")
            try requireEqual(try await store.entries().map(\.state), [.pending, .failed], "states")
            try requireEqual(try await store.entry("a")?.attempts, 1, "attempts kept")
        },
    ]
}
