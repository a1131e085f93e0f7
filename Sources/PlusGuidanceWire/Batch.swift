import Foundation

/// An `application/problem+json` document (RFC 9457) with the API's stable `code` member.
package struct ProblemWire: Codable, Sendable, Equatable {
    package var type: String?
    package var title: String?
    package var status: Int?
    package var detail: String?
    package var code: String?

    package init(type: String?, title: String?, status: Int?, detail: String?, code: String?) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
    }
}

/// The answer to `POST /v1/batch`: one result per action, in order.
package struct BatchAnswerWire: Codable, Sendable {
    package var results: [BatchResultWire]
}

package struct BatchResultWire: Codable, Sendable {
    package var key: String
    /// The status the action's own request would have answered; absent when skipped.
    package var status: Int?
    package var replayed: Bool?
    /// `true` for an action not attempted, behind a refused message of its conversation.
    package var skipped: Bool?
    package var body: BatchBodyWire?
}

/// A batch result's body: what the action's own request would have answered, told apart by its
/// members.
package enum BatchBodyWire: Codable, Sendable {
    case message(MessageWire)
    case answer(AnswerWire)
    case session(SessionWire)
    case read(ReadPositionWire)
    case problem(ProblemWire)

    private struct Member: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    package init(from decoder: any Decoder) throws {
        let members = try decoder.container(keyedBy: Member.self)
        if members.contains(Member(stringValue: "readerId")) {
            self = .read(try ReadPositionWire(from: decoder))
        } else if members.contains(Member(stringValue: "conversationId")) {
            self = .message(try MessageWire(from: decoder))
        } else if members.contains(Member(stringValue: "offer")) {
            self = .answer(try AnswerWire(from: decoder))
        } else if members.contains(Member(stringValue: "therapistId")) {
            self = .session(try SessionWire(from: decoder))
        } else {
            self = .problem(try ProblemWire(from: decoder))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        switch self {
        case .message(let value): try value.encode(to: encoder)
        case .answer(let value): try value.encode(to: encoder)
        case .session(let value): try value.encode(to: encoder)
        case .read(let value): try value.encode(to: encoder)
        case .problem(let value): try value.encode(to: encoder)
        }
    }
}
