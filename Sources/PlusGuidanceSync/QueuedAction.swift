import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// What every write returns (``PlusGuidanceClient/send(_:to:)``, ``PlusGuidanceClient/accept(_:)``,
/// ``PlusGuidanceClient/decline(_:)``, ``PlusGuidanceClient/stop(_:)``,
/// ``PlusGuidanceClient/markRead(conversationWith:)``): the action, queued durably in the outbox,
/// with what is already known of it and a way to wait for the rest.
///
/// One shape whatever the action, and whichever process delivers it: this one when it runs the
/// engine (the action was then attempted before the call returned), or the one that does
/// (`pg-syncd` beside an app).
///
/// ```swift
/// let sent = try await client.send("See you at five", to: therapistID)
/// switch try await sent.outcome(waitingUpTo: .seconds(10)) {
/// case .delivered: break                                  // sent.message is .pending no more
/// case .refused(let failure): show(failure.code)          // stays failed in the outbox
/// case .queued(let reason): showQueued(reason)            // delivered once the server is back
/// }
/// ```
public struct QueuedAction: Sendable {
    /// The action's idempotency key, which is also its id in the outbox: for
    /// ``PlusGuidanceClient/retry(_:)``, ``PlusGuidanceClient/discard(_:)`` and
    /// ``PlusGuidanceClient/outcome(of:waitingUpTo:)`` in a later run of the app.
    public let id: IdempotencyKey
    public let action: OutboxAction
    /// When it was queued, on this device's clock.
    public let enqueuedAt: Date
    /// What was known when the call returned: `.delivered` when the server already confirmed it,
    /// `.refused` when it refused it (or a local rule such as an offer's deadline failed it),
    /// `.queued(reason:)` when it waits for a server that cannot be reached; `nil` while an
    /// attempt may still come at once (another process delivers it, or it is in flight).
    public let knownOutcome: ActionOutcome?
    /// For a text, the message as it was when the call returned: `.sent` (the server's copy)
    /// once delivered, `.pending` while queued, `.failed` when refused. `nil` for other actions.
    public let message: Message?

    let client: PlusGuidanceClient

    /// Waits for the outcome, whichever process delivers the action: returns as soon as it is
    /// known, or at once when the action waits for a server that cannot be reached
    /// (`.queued` with the reason), or after `timeout` with `.queued(reason: "timed_out")`.
    /// Woken by commits to the outbox, never by polling.
    public func outcome(waitingUpTo timeout: Duration = .seconds(10)) async throws -> ActionOutcome {
        if case .delivered = knownOutcome { return .delivered }
        return try await client.outcome(of: id, waitingUpTo: timeout)
    }
}

extension QueuedAction: CustomStringConvertible {
    /// The action's kind, key and known outcome; never a message body.
    public var description: String {
        let outcome = knownOutcome.map { "\($0)" } ?? "unknown"
        let kind =
            switch action {
            case .sendMessage: "sendMessage"
            case .acceptOffer: "acceptOffer"
            case .declineOffer: "declineOffer"
            case .stopSession: "stopSession"
            case .markRead: "markRead"
            case .unreadable: "unreadable"
            }
        return "QueuedAction(\(kind), id: \(id.rawValue), outcome: \(outcome))"
    }
}
