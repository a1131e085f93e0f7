import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

/// What became of one action of a batch (``PlusGuidanceAPI/push(_:)``).
public enum PushOutcome: Sendable, Equatable {
    /// Applied (now or by an earlier request with its key); the server's answer, for the cache.
    case applied([Change])
    /// Refused; the refusal is stored under its key, a replay gets it again.
    case refused(PlusGuidanceAPIError)
    /// Not attempted: it waits behind a refused message of its conversation. Nothing is stored
    /// under its key.
    case skipped
}

extension PlusGuidanceAPI {
    /// At most this many actions per ``push(_:)`` (the server's bound).
    public static let maximumBatchActions = 100

    /// Delivers several queued actions in one request (`POST /v1/batch`) and one server
    /// transaction, in order, each under its own idempotency key: the server answers each as its
    /// own request would, so a batch whose answer was lost can be replayed in any split. After a
    /// refused message, later messages of its conversation come back ``PushOutcome/skipped``.
    ///
    /// Throws what a single action would for the request as a whole (unreachable, signed out,
    /// a server error): then nothing is known of any action, and each is replayed with its key.
    public func push(_ actions: [(action: OutboxAction, key: IdempotencyKey)]) async throws -> [PushOutcome] {
        precondition((1...Self.maximumBatchActions).contains(actions.count), "1 to 100 actions per batch")
        let items = actions.map { action, key in BatchAction(key: key.rawValue, action) }
        let response = try await call(.post, "/v1/batch", body: try JSONEncoder().encode(BatchRequest(actions: items)))
        return try decode(BatchAnswerWire.self, response) { answer throws(WireError) in
            guard answer.results.count == actions.count else {
                throw WireError("batch answer has \(answer.results.count) results for \(actions.count) actions")
            }
            var outcomes: [PushOutcome] = []
            for (sent, result) in zip(actions, answer.results) {
                outcomes.append(try outcome(of: sent.action, key: sent.key, result))
            }
            return outcomes
        }
    }

    private nonisolated func outcome(
        of action: OutboxAction, key: IdempotencyKey, _ result: BatchResultWire
    ) throws(WireError) -> PushOutcome {
        guard result.key == key.rawValue else { throw WireError("batch answer out of order") }
        if result.skipped == true { return .skipped }
        guard let status = result.status, let body = result.body else {
            throw WireError("batch result without status or body")
        }
        guard (200..<300).contains(status) else {
            guard case .problem(let problem) = body else { throw WireError("batch refusal without a problem document") }
            return .refused(
                error(
                    status: status,
                    problem: ProblemDocument(
                        type: problem.type, title: problem.title, status: problem.status, detail: problem.detail,
                        code: problem.code)))
        }
        switch (action, body) {
        case (.sendMessage, .message(let wire)): return .applied([.message(try wire.domain())])
        case (.acceptOffer, .answer(let wire)), (.declineOffer, .answer(let wire)):
            let (offer, session) = try wire.domain()
            return .applied([.offer(offer)] + (session.map { [.session($0)] } ?? []))
        case (.stopSession, .session(let wire)): return .applied([.session(try wire.domain())])
        case (.markRead, .read(let wire)): return .applied([.read(try wire.domain())])
        default: throw WireError("batch result of the wrong kind")
        }
    }
}
