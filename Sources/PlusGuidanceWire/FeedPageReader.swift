import Foundation

/// Reads a `GET /v1/changes` page straight from its bytes into ``FeedPageWire``: the feed's fast
/// path, about three times the speed of `JSONDecoder` on the feed's own shape.
///
/// It is an accelerator, not a second authority. ``read(_:)`` answers `nil` for anything it is
/// not certain `JSONDecoder` reads to the same values — a duplicate member, a member name with an
/// escape, a number with a fraction or an exponent, invalid UTF-8, a lone surrogate, nesting over
/// 64 levels, anything outside RFC 8259 — and the caller then decodes the page with
/// `JSONDecoder`, which accepts or refuses it whole. What this reader does accept it accepts
/// exactly as `JSONDecoder` would: the same grammar, members it does not know skipped (and still
/// checked), `null` for an absent optional member, a required member missing or `null` refused.
/// The wire tests and the fuzzer compare the two on the same bytes.
@_spi(PlusGuidanceTools) public enum FeedPageReader {
    /// The page in `body`, or `nil` when `JSONDecoder` must decide.
    @_spi(PlusGuidanceTools) public static func read(_ body: Data) -> FeedPageWire? {
        body.withUnsafeBytes { raw -> FeedPageWire? in
            var reader = JSONBytes(raw.bindMemory(to: UInt8.self))
            return try? reader.feedPage()
        }
    }
}

/// The reader gave up: `JSONDecoder` decides.
struct Undecided: Error {}

/// A cursor over JSON text. Every method consumes one value (or one token) or throws
/// ``Undecided``.
struct JSONBytes {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0
    /// Unescaped string bytes, reused.
    var scratch: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    // MARK: Documents

    mutating func feedPage() throws(Undecided) -> FeedPageWire {
        var changes: [ChangeWire]?
        var cursor: String?
        var hasMore: Bool?
        var remaining: Int??
        try object { (reader, name) throws(Undecided) in
            switch name {
            case .changes: try reader.once(&changes) { (r) throws(Undecided) in try r.changeList() }
            case .cursor: try reader.once(&cursor) { (r) throws(Undecided) in try r.string() }
            case .hasMore: try reader.once(&hasMore) { (r) throws(Undecided) in try r.bool() }
            case .remaining:
                try reader.once(&remaining) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.int() }
                }
            default: try reader.skipValue()
            }
        }
        skipWhitespace()
        guard index == bytes.count, let changes, let cursor, let hasMore else { throw Undecided() }
        return FeedPageWire(changes: changes, cursor: cursor, hasMore: hasMore, remaining: remaining ?? nil)
    }

    mutating func changeList() throws(Undecided) -> [ChangeWire] {
        var changes: [ChangeWire] = []
        changes.reserveCapacity(500)
        try array { (reader) throws(Undecided) in changes.append(try reader.change()) }
        return changes
    }

    mutating func change() throws(Undecided) -> ChangeWire {
        var entity: String?
        var id: String?
        var op: String?
        var user: UserWire??
        var message: MessageWire??
        var offer: OfferWire??
        var session: SessionWire??
        var read: ReadPositionWire??
        try object { (r, name) throws(Undecided) in
            switch name {
            case .entity: try r.once(&entity) { (r) throws(Undecided) in try r.string() }
            case .id: try r.once(&id) { (r) throws(Undecided) in try r.string() }
            case .op: try r.once(&op) { (r) throws(Undecided) in try r.string() }
            case .user:
                try r.once(&user) { (r) throws(Undecided) in try r.nullable { (n) throws(Undecided) in try n.user() } }
            case .message:
                try r.once(&message) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.message() }
                }
            case .offer:
                try r.once(&offer) { (r) throws(Undecided) in try r.nullable { (n) throws(Undecided) in try n.offer() }
                }
            case .session:
                try r.once(&session) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.session() }
                }
            case .read:
                try r.once(&read) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.readPosition() }
                }
            default: try r.skipValue()
            }
        }
        guard let entity, let id, let op else { throw Undecided() }
        return ChangeWire(
            entity: entity, id: id, op: op, user: user ?? nil, message: message ?? nil, offer: offer ?? nil,
            session: session ?? nil, read: read ?? nil)
    }

    mutating func user() throws(Undecided) -> UserWire {
        var id: String?
        var email: String?
        var name: String?
        var role: String?
        try object { (r, member) throws(Undecided) in
            switch member {
            case .id: try r.once(&id) { (r) throws(Undecided) in try r.string() }
            case .email: try r.once(&email) { (r) throws(Undecided) in try r.string() }
            case .name: try r.once(&name) { (r) throws(Undecided) in try r.string() }
            case .role: try r.once(&role) { (r) throws(Undecided) in try r.string() }
            default: try r.skipValue()
            }
        }
        guard let id, let email, let name, let role else { throw Undecided() }
        return UserWire(id: id, email: email, name: name, role: role)
    }

    mutating func message() throws(Undecided) -> MessageWire {
        var id: String?
        var conversationId: String?
        var senderId: String?
        var recipientId: String?
        var kind: String?
        var body: String?
        var createdAt: String?
        var offerId: String??
        var sessionId: String??
        var readAt: String??
        try object { (r, member) throws(Undecided) in
            switch member {
            case .id: try r.once(&id) { (r) throws(Undecided) in try r.string() }
            case .conversationId: try r.once(&conversationId) { (r) throws(Undecided) in try r.string() }
            case .senderId: try r.once(&senderId) { (r) throws(Undecided) in try r.string() }
            case .recipientId: try r.once(&recipientId) { (r) throws(Undecided) in try r.string() }
            case .kind: try r.once(&kind) { (r) throws(Undecided) in try r.string() }
            case .body: try r.once(&body) { (r) throws(Undecided) in try r.string() }
            case .createdAt: try r.once(&createdAt) { (r) throws(Undecided) in try r.string() }
            case .offerId:
                try r.once(&offerId) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.string() }
                }
            case .sessionId:
                try r.once(&sessionId) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.string() }
                }
            case .readAt:
                try r.once(&readAt) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.string() }
                }
            default: try r.skipValue()
            }
        }
        guard let id, let conversationId, let senderId, let recipientId, let kind, let body, let createdAt else {
            throw Undecided()
        }
        return MessageWire(
            id: id, conversationId: conversationId, senderId: senderId, recipientId: recipientId, kind: kind,
            body: body, createdAt: createdAt, offerId: offerId ?? nil, sessionId: sessionId ?? nil,
            readAt: readAt ?? nil)
    }

    mutating func offer() throws(Undecided) -> OfferWire {
        var id: String?
        var therapistId: String?
        var clientId: String?
        var type: String?
        var startsAt: String??
        var durationMinutes: Int?
        var requiresConfirmation: Bool?
        var state: String?
        var createdAt: String?
        var expiresAt: String?
        var closedAt: String??
        var sessionId: String??
        try object { (r, member) throws(Undecided) in
            switch member {
            case .id: try r.once(&id) { (r) throws(Undecided) in try r.string() }
            case .therapistId: try r.once(&therapistId) { (r) throws(Undecided) in try r.string() }
            case .clientId: try r.once(&clientId) { (r) throws(Undecided) in try r.string() }
            case .type: try r.once(&type) { (r) throws(Undecided) in try r.string() }
            case .startsAt:
                try r.once(&startsAt) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.string() }
                }
            case .durationMinutes: try r.once(&durationMinutes) { (r) throws(Undecided) in try r.int() }
            case .requiresConfirmation: try r.once(&requiresConfirmation) { (r) throws(Undecided) in try r.bool() }
            case .state: try r.once(&state) { (r) throws(Undecided) in try r.string() }
            case .createdAt: try r.once(&createdAt) { (r) throws(Undecided) in try r.string() }
            case .expiresAt: try r.once(&expiresAt) { (r) throws(Undecided) in try r.string() }
            case .closedAt:
                try r.once(&closedAt) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.string() }
                }
            case .sessionId:
                try r.once(&sessionId) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.string() }
                }
            default: try r.skipValue()
            }
        }
        guard let id, let therapistId, let clientId, let type, let durationMinutes, let requiresConfirmation,
            let state, let createdAt, let expiresAt
        else { throw Undecided() }
        return OfferWire(
            id: id, therapistId: therapistId, clientId: clientId, type: type, startsAt: startsAt ?? nil,
            durationMinutes: durationMinutes, requiresConfirmation: requiresConfirmation, state: state,
            createdAt: createdAt, expiresAt: expiresAt, closedAt: closedAt ?? nil, sessionId: sessionId ?? nil)
    }

    mutating func session() throws(Undecided) -> SessionWire {
        var id: String?
        var offerId: String?
        var therapistId: String?
        var clientId: String?
        var type: String?
        var startsAt: String?
        var durationMinutes: Int?
        var endedAt: String??
        var endedBy: String??
        var state: String??
        var remainingSeconds: Int??
        var overtimeSeconds: Int??
        var attendPath: String??
        try object { (r, member) throws(Undecided) in
            switch member {
            case .id: try r.once(&id) { (r) throws(Undecided) in try r.string() }
            case .offerId: try r.once(&offerId) { (r) throws(Undecided) in try r.string() }
            case .therapistId: try r.once(&therapistId) { (r) throws(Undecided) in try r.string() }
            case .clientId: try r.once(&clientId) { (r) throws(Undecided) in try r.string() }
            case .type: try r.once(&type) { (r) throws(Undecided) in try r.string() }
            case .startsAt: try r.once(&startsAt) { (r) throws(Undecided) in try r.string() }
            case .durationMinutes: try r.once(&durationMinutes) { (r) throws(Undecided) in try r.int() }
            case .endedAt:
                try r.once(&endedAt) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.string() }
                }
            case .endedBy:
                try r.once(&endedBy) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.string() }
                }
            case .state:
                try r.once(&state) { (r) throws(Undecided) in try r.nullable { (n) throws(Undecided) in try n.string() }
                }
            case .remainingSeconds:
                try r.once(&remainingSeconds) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.int() }
                }
            case .overtimeSeconds:
                try r.once(&overtimeSeconds) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.int() }
                }
            case .attendPath:
                try r.once(&attendPath) { (r) throws(Undecided) in
                    try r.nullable { (n) throws(Undecided) in try n.string() }
                }
            default: try r.skipValue()
            }
        }
        guard let id, let offerId, let therapistId, let clientId, let type, let startsAt, let durationMinutes else {
            throw Undecided()
        }
        return SessionWire(
            id: id, offerId: offerId, therapistId: therapistId, clientId: clientId, type: type, startsAt: startsAt,
            durationMinutes: durationMinutes, endedAt: endedAt ?? nil, endedBy: endedBy ?? nil, state: state ?? nil,
            remainingSeconds: remainingSeconds ?? nil, overtimeSeconds: overtimeSeconds ?? nil,
            attendPath: attendPath ?? nil)
    }

    mutating func readPosition() throws(Undecided) -> ReadPositionWire {
        var conversationId: String?
        var readerId: String?
        var messageId: String?
        var upTo: String?
        var readAt: String?
        try object { (r, member) throws(Undecided) in
            switch member {
            case .conversationId: try r.once(&conversationId) { (r) throws(Undecided) in try r.string() }
            case .readerId: try r.once(&readerId) { (r) throws(Undecided) in try r.string() }
            case .messageId: try r.once(&messageId) { (r) throws(Undecided) in try r.string() }
            case .upTo: try r.once(&upTo) { (r) throws(Undecided) in try r.string() }
            case .readAt: try r.once(&readAt) { (r) throws(Undecided) in try r.string() }
            default: try r.skipValue()
            }
        }
        guard let conversationId, let readerId, let messageId, let upTo, let readAt else { throw Undecided() }
        return ReadPositionWire(
            conversationId: conversationId, readerId: readerId, messageId: messageId, upTo: upTo, readAt: readAt)
    }
}
