import Foundation

/// An `application/problem+json` document (RFC 9457) with the API's stable `code` member.
@_spi(PlusGuidanceTools) public struct ProblemWire: Codable, Sendable, Equatable {
    @_spi(PlusGuidanceTools) public var type: String?
    @_spi(PlusGuidanceTools) public var title: String?
    @_spi(PlusGuidanceTools) public var status: Int?
    @_spi(PlusGuidanceTools) public var detail: String?
    @_spi(PlusGuidanceTools) public var code: String?

    @_spi(PlusGuidanceTools) public init(type: String?, title: String?, status: Int?, detail: String?, code: String?) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
    }
}

/// The answer to `POST /v1/batch`: one result per action, in order.
@_spi(PlusGuidanceTools) public struct BatchAnswerWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var results: [BatchResultWire]
}

@_spi(PlusGuidanceTools) public struct BatchResultWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var key: String
    /// The status the action's own request would have answered; absent when skipped.
    @_spi(PlusGuidanceTools) public var status: Int?
    @_spi(PlusGuidanceTools) public var replayed: Bool?
    /// `true` for an action not attempted, behind a refused message of its conversation.
    @_spi(PlusGuidanceTools) public var skipped: Bool?
    @_spi(PlusGuidanceTools) public var body: BatchBodyWire?
}

/// A batch result's body: what the action's own request would have answered, told apart by its
/// members.
@_spi(PlusGuidanceTools) public enum BatchBodyWire: Codable, Sendable {
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

    @_spi(PlusGuidanceTools) public init(from decoder: any Decoder) throws {
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

    @_spi(PlusGuidanceTools) public func encode(to encoder: any Encoder) throws {
        switch self {
        case .message(let value): try value.encode(to: encoder)
        case .answer(let value): try value.encode(to: encoder)
        case .session(let value): try value.encode(to: encoder)
        case .read(let value): try value.encode(to: encoder)
        case .problem(let value): try value.encode(to: encoder)
        }
    }
}
