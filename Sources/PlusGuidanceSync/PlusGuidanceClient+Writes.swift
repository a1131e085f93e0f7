import Foundation
import PlusGuidanceDomain
import PlusGuidanceNetworking

extension PlusGuidanceClient {
    // MARK: Writes

    /// Queues a text to `peer` and tries to deliver it now. Returns the message as shown while
    /// pending. Offline it stays queued and is delivered on the next sync (R8).
    /// - Throws: ``DomainError/notAParticipant`` when `peer` is not a contact, the body errors
    ///   of ``MessageBody``.
    public func send(_ text: String, to peer: UserID) async throws -> Message {
        let account = try signedIn()
        let contacts = try await account.cache.contacts()
        let pair = contacts.contains { $0.id == peer } ? CareRelation(user: account.user, peer: peer) : nil
        let message = try Message.text(
            id: MessageID("msg_" + Self.token()), from: account.user.id, to: peer, within: pair, body: text,
            at: await serverNow(), deliveryState: .pending)
        _ = try await enqueue(.sendMessage(message), in: account)
        return message
    }

    /// Queues the acceptance of an offer; the server decides (an accept after expiry fails as
    /// `offer_expired` and stays visible in the outbox).
    public func accept(_ offer: OfferID) async throws -> OutboxEntry {
        try await enqueue(.acceptOffer(offer), in: signedIn())
    }
    public func decline(_ offer: OfferID) async throws -> OutboxEntry {
        try await enqueue(.declineOffer(offer), in: signedIn())
    }
    /// Queues stopping a session (therapist only; the server decides).
    public func stop(_ session: SessionID) async throws -> OutboxEntry {
        try await enqueue(.stopSession(session), in: signedIn())
    }

    /// Offers an Instant Session now. Needs the server and the client online: offline it fails
    /// at once and nothing is queued (R8).
    /// - Throws: ``PlusGuidanceClientError/Code/offline``, or the Domain's refusal
    ///   (`client_offline`, `not_your_client`, `invalid_duration`…) as
    ///   ``PlusGuidanceAPIError/rejected(_:status:)``.
    public func createOffer(to client: UserID, options: OfferOptions) async throws -> SessionOffer {
        let account = try signedIn()
        try options.validate(at: await serverNow())
        do {
            let offer = try await signingOutOnRefusal(account) {
                try await account.api.createOffer(
                    to: client, options: options, idempotencyKey: IdempotencyKey("k_" + Self.token()))
            }
            try await account.cache.merge([.offer(offer)])
            return offer
        } catch let error as PlusGuidanceAPIError where error == .unreachableCode {
            phase = .offline(reason: error.offlineReason)
            throw PlusGuidanceClientError(.offline, reason: "creating an offer needs a connection to the server")
        }
    }

    /// Puts a failed entry back in the queue, with its key, and tries to deliver it.
    public func retry(_ key: IdempotencyKey) async throws {
        let account = try signedIn()
        guard var entry = try await account.outbox.entry(key) else {
            throw PlusGuidanceClientError(.unknownOutboxEntry)
        }
        entry.retry()
        try await account.outbox.update(entry)
        _ = try? await deliverIfEngine(account)
    }

    /// Gives up a failed or pending entry (never one in flight: its outcome is unknown).
    public func discard(_ key: IdempotencyKey) async throws {
        let account = try signedIn()
        guard let entry = try await account.outbox.entry(key), entry.state != .inFlight else {
            throw PlusGuidanceClientError(.unknownOutboxEntry)
        }
        try await account.outbox.remove(key)
    }

    /// Queues `action` durably, then attempts it at once unless it waits behind an earlier
    /// message of its conversation (which the engine delivers first, then this one).
    private func enqueue(_ action: OutboxAction, in account: SignedInAccount) async throws -> OutboxEntry {
        let entry = try await account.outbox.enqueue(
            OutboxEntry(
                id: IdempotencyKey("k_" + Self.token()), action: action, enqueuedAt: configuration.localClock.now()))
        guard try await !account.outbox.isQueuedBehindAnother(entry.id) else { return entry }
        _ = try? await deliverIfEngine(account)
        return try await account.outbox.entry(entry.id) ?? entry
    }
}
