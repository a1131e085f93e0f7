import Foundation
import PlusGuidanceDomain

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
        let items = actions.map { action, key in
            var item = BatchActionDTO(key: key.rawValue)
            switch action {
            case .sendMessage(let message):
                item.op = "send_message"
                item.peer = message.recipientID.rawValue
                item.id = message.id.rawValue
                item.body = message.body
            case .acceptOffer(let offer):
                item.op = "accept_offer"
                item.offer = offer.rawValue
            case .declineOffer(let offer):
                item.op = "decline_offer"
                item.offer = offer.rawValue
            case .stopSession(let session):
                item.op = "stop_session"
                item.session = session.rawValue
            }
            return item
        }
        let response = try await call(.post, "/v1/batch", body: try JSONEncoder().encode(BatchDTO(actions: items)))
        let answer: BatchAnswerDTO = try decode(response)
        guard answer.results.count == actions.count else {
            throw PlusGuidanceAPIError.invalidResponse(
                "batch answer has \(answer.results.count) results for \(actions.count) actions")
        }
        return try zip(actions, answer.results).map { sent, result in
            guard result.key == sent.key.rawValue else {
                throw PlusGuidanceAPIError.invalidResponse("batch answer out of order")
            }
            if result.skipped == true { return .skipped }
            guard let status = result.status, let body = result.body else {
                throw PlusGuidanceAPIError.invalidResponse("batch result without status or body")
            }
            guard (200..<300).contains(status) else {
                guard case .problem(let problem) = body else {
                    throw PlusGuidanceAPIError.invalidResponse("batch refusal without a problem document")
                }
                return .refused(error(status: status, problem: problem))
            }
            switch (sent.action, body) {
            case (.sendMessage, .message(let dto)): return .applied([.message(try dto.domain())])
            case (.acceptOffer, .answer(let dto)), (.declineOffer, .answer(let dto)):
                return .applied(
                    [.offer(try dto.offer.domain())] + (try dto.session.map { [.session(try $0.domain())] } ?? []))
            case (.stopSession, .session(let dto)): return .applied([.session(try dto.domain())])
            default: throw PlusGuidanceAPIError.invalidResponse("batch result of the wrong kind")
            }
        }
    }
}

struct BatchDTO: Encodable { var actions: [BatchActionDTO] }

struct BatchActionDTO: Encodable {
    var key: String
    var op = ""
    var peer: String?
    var id: String?
    var body: String?
    var offer: String?
    var session: String?
}

struct BatchAnswerDTO: Decodable { var results: [BatchResultDTO] }

struct BatchResultDTO: Decodable {
    var key: String
    var status: Int?
    var skipped: Bool?
    var body: BatchBodyDTO?
}

/// A batch result's body: what the action's own request would have answered, told apart by
/// its members.
enum BatchBodyDTO: Decodable {
    case message(MessageDTO)
    case answer(AnswerDTO)
    case session(SessionDTO)
    case problem(ProblemDocument)

    private struct Member: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let members = try decoder.container(keyedBy: Member.self)
        if members.contains(Member(stringValue: "conversationId")) {
            self = .message(try MessageDTO(from: decoder))
        } else if members.contains(Member(stringValue: "offer")) {
            self = .answer(try AnswerDTO(from: decoder))
        } else if members.contains(Member(stringValue: "therapistId")) {
            self = .session(try SessionDTO(from: decoder))
        } else {
            self = .problem(try ProblemDocument(from: decoder))
        }
    }
}
