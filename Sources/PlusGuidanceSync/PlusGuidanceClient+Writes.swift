import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

extension PlusGuidanceClient {
    // MARK: Writes

    /// Queues a text to `peer` and tries to deliver it now (R8). The answer's
    /// ``QueuedAction/message`` is the message as it is when this returns: `.sent` when this
    /// process delivered it at once, `.pending` while it waits (offline it is delivered on the
    /// next sync, or by `pg-syncd`), and ``QueuedAction/outcome(waitingUpTo:)`` waits for the
    /// rest.
    /// - Throws: `DomainError.notAParticipant` when `peer` is not a contact, the body errors
    ///   of `MessageBody`.
    public func send(_ text: String, to peer: UserID) async throws -> QueuedAction {
        let account = try signedIn()
        let pair = try await account.cache.isContact(peer) ? CareRelation(user: account.user, peer: peer) : nil
        let message = try Message.text(
            id: MessageID(sender: account.user.id, nonce: Self.token()), from: account.user.id, to: peer, within: pair,
            body: text,
            at: await serverNow(), deliveryState: .pending)
        return try await enqueue(.sendMessage(message), in: account)
    }

    /// Queues the acceptance of an offer and tries to deliver it now; the server decides.
    ///
    /// What this device already knows is refused at once, queueing nothing: an offer addressed
    /// to someone else, one the cache shows answered or expired, a second answer to the same
    /// offer. A queued accept carries the offer's expiry: once server time passes it, the entry
    /// fails with `offer_expired` and is not sent.
    /// - Throws: `DomainError` `not_offer_recipient`, `offer_already_answered`, `offer_expired`.
    public func accept(_ offer: OfferID) async throws -> QueuedAction {
        let account = try signedIn()
        let known = try await checkAnswerable(offer, accept: true, in: account)
        return try await enqueue(.acceptOffer(offer), in: account, deadline: known?.expiresAt)
    }

    /// Queues declining an offer; refused at once like ``accept(_:)``.
    public func decline(_ offer: OfferID) async throws -> QueuedAction {
        let account = try signedIn()
        _ = try await checkAnswerable(offer, accept: false, in: account)
        return try await enqueue(.declineOffer(offer), in: account)
    }

    /// Queues stopping a session (R6: only its therapist can). A client, or a session the cache
    /// shows ended or another therapist's, is refused at once and nothing is queued.
    /// - Throws: `DomainError` `not_session_therapist`, `session_already_ended`.
    public func stop(_ session: SessionID) async throws -> QueuedAction {
        let account = try signedIn()
        guard account.user.role == .therapist else { throw DomainError.notSessionTherapist }
        if var cached = try await account.cache.session(session) {
            _ = try cached.stop(by: account.user.id, at: await serverNow())
        }
        if try await account.outbox.entries().contains(where: { $0.action == .stopSession(session) }) {
            throw DomainError.sessionAlreadyEnded
        }
        return try await enqueue(.stopSession(session), in: account)
    }

    /// Marks the conversation with `peer` read up to its latest message from the server (R11),
    /// as an action like the others: queued durably, delivered in order with the conversation's
    /// texts, and merged with receipts of the same conversation still waiting (the latest wins,
    /// one receipt goes out). The unread count drops at once, offline too.
    ///
    /// Returns the queued receipt, or `nil` when there is nothing to mark: no message cached yet,
    /// or the read position already covers the latest one.
    /// - Throws: `DomainError.notAParticipant` when `peer` is not a contact.
    public func markRead(conversationWith peer: UserID) async throws -> QueuedAction? {
        let account = try signedIn()
        guard try await account.cache.isContact(peer) else { throw DomainError.notAParticipant }
        let conversation = CareRelation(user: account.user, peer: peer).conversationID
        guard let latest = try await account.cache.messages(in: conversation, limit: 1, before: nil).first else {
            return nil
        }
        let waiting = try await account.outbox.entries(in: conversation).compactMap { entry -> OutboxEntry? in
            guard case .markRead = entry.action else { return nil }
            return entry
        }
        let queuedUpTo = waiting.compactMap { entry -> Date? in
            guard entry.state != .failed, case .markRead(let mark) = entry.action else { return nil }
            return mark.upTo
        }.max()
        let stored = try await account.cache.readPosition(of: account.user.id, in: conversation)?.upTo
        if let reached = [queuedUpTo, stored].compactMap({ $0 }).max(), reached >= latest.createdAt { return nil }
        let mark = ReadMark(conversationID: conversation, peerID: peer, messageID: latest.id, upTo: latest.createdAt)
        return try await enqueue(.markRead(mark), in: account, superseding: waiting.map(\.id))
    }

    /// Refuses locally what the Domain can tell from the cache and the outbox; returns the
    /// cached offer, if any.
    private func checkAnswerable(
        _ id: OfferID, accept: Bool, in account: SignedInAccount
    ) async throws -> SessionOffer? {
        guard account.user.role == .client else { throw DomainError.notOfferRecipient }
        let answered = try await account.outbox.entries().contains {
            $0.action == .acceptOffer(id) || $0.action == .declineOffer(id)
        }
        if answered { throw DomainError.offerAlreadyAnswered }
        guard let cached = try await account.cache.offer(id) else { return nil }
        var answering = cached
        // Expiry is judged on the server's time only when it is known (R12): unknown, the
        // answer is queued and the server decides.
        let now = await knownServerTime() ?? cached.expiresAt
        _ =
            try accept
            ? answering.accept(by: account.user.id, at: now) : answering.decline(by: account.user.id, at: now)
        return cached
    }

    /// Offers an Instant Session now. Needs the server and the client online: offline it fails
    /// at once and nothing is queued (R8).
    /// - Throws: `PlusGuidanceDomain.DomainError` for what is refused locally before any
    ///   request (`invalid_duration`, `start_in_past`) or by the server (`client_offline`,
    ///   `not_your_client`); ``PlusGuidanceClientError/Code/offline`` when the server cannot be
    ///   reached; `PlusGuidanceNetworking.PlusGuidanceAPIError` for other transport failures.
    public func createOffer(to client: UserID, options: OfferOptions) async throws -> SessionOffer {
        let account = try signedIn()
        try options.validate(at: await serverNow())
        do {
            let offer = try await signingOutOnRefusal(account) {
                try await account.api.createOffer(
                    to: client, options: options, idempotencyKey: IdempotencyKey("k_" + Self.token()))
            }
            var changes: [Change] = [.offer(offer)]
            // Without confirmation the session exists at once (R5): the next read shows it.
            if let id = offer.sessionID, let session = try? await account.api.session(id) {
                changes.append(.session(session))
            }
            try await account.cache.merge(changes)
            return offer
        } catch let error as PlusGuidanceAPIError where error == .unreachableCode {
            phase = .offline(reason: error.offlineReason)
            throw PlusGuidanceClientError(.offline, reason: "creating an offer needs a connection to the server")
        } catch let error as PlusGuidanceAPIError where error.kind == .rejected && error.domainError != nil {
            // A rule is a DomainError whichever side judged it, as accept and stop refuse.
            throw error.domainError!
        }
    }

    /// Puts a failed entry back in the queue, with its key, and tries to deliver it; answers
    /// like every write, with what is known once that attempt is over.
    @discardableResult
    public func retry(_ key: IdempotencyKey) async throws -> QueuedAction {
        let account = try signedIn()
        guard var entry = try await account.outbox.entry(key) else {
            throw PlusGuidanceClientError(.unknownOutboxEntry)
        }
        if case .unreadable = entry.action {
            throw PlusGuidanceClientError(
                .unreadableOutboxEntry,
                reason: "this entry cannot be read from the outbox, so it cannot be sent; discard it")
        }
        entry.retry()
        try await account.outbox.update(entry)
        _ = try? await deliverIfEngine(account)
        return try await answer(for: entry, in: account)
    }

    /// Gives up a failed or pending entry (never one in flight: its outcome is unknown).
    public func discard(_ key: IdempotencyKey) async throws {
        let account = try signedIn()
        guard let entry = try await account.outbox.entry(key), entry.state != .inFlight else {
            throw PlusGuidanceClientError(.unknownOutboxEntry)
        }
        try await account.outbox.remove(key)
    }

    /// Queues `action` durably, then attempts it at once when this process runs the engine:
    /// the sender goes in order, so an earlier message of its conversation that is due goes
    /// first, and one that waits out a backoff holds this one back with it. Answers with what
    /// is known once that attempt is over.
    private func enqueue(
        _ action: OutboxAction, in account: SignedInAccount, deadline: Date? = nil,
        superseding superseded: [IdempotencyKey] = []
    ) async throws -> QueuedAction {
        let entry = try await account.outbox.enqueue(
            OutboxEntry(
                id: IdempotencyKey("k_" + Self.token()), action: action, enqueuedAt: configuration.localClock.now(),
                deadline: deadline), superseding: superseded)
        _ = try? await deliverIfEngine(account)
        return try await answer(for: entry, in: account)
    }

    /// What a write answers once its attempt is over: the entry's known outcome and, for a text,
    /// the message as it is now.
    private func answer(for entry: OutboxEntry, in account: SignedInAccount) async throws -> QueuedAction {
        // One read of the entry serves both: gone means delivered.
        let current = try await account.outbox.entry(entry.id)
        let known = try await Self.knownOutcome(of: current, in: account.outbox)
        var message: Message?
        if case .sendMessage(let queued) = entry.action {
            // The outbox's copy (pending, failed) while it waits; the server's once delivered.
            if let waiting = current?.outgoingMessage {
                message = waiting
            } else {
                message = try await account.cache.message(queued.id) ?? queued
            }
        }
        return QueuedAction(
            id: entry.id, action: entry.action, enqueuedAt: entry.enqueuedAt, knownOutcome: known, message: message,
            client: self)
    }
}
