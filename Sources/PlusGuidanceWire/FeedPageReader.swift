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
private struct Undecided: Error {}

/// A cursor over JSON text. Every method consumes one value (or one token) or throws
/// ``Undecided``.
private struct JSONBytes {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// Unescaped string bytes, reused.
    private var scratch: [UInt8] = []

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

    private mutating func changeList() throws(Undecided) -> [ChangeWire] {
        var changes: [ChangeWire] = []
        changes.reserveCapacity(500)
        try array { (reader) throws(Undecided) in changes.append(try reader.change()) }
        return changes
    }

    private mutating func change() throws(Undecided) -> ChangeWire {
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

    private mutating func user() throws(Undecided) -> UserWire {
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

    private mutating func message() throws(Undecided) -> MessageWire {
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

    private mutating func offer() throws(Undecided) -> OfferWire {
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

    private mutating func session() throws(Undecided) -> SessionWire {
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

    private mutating func readPosition() throws(Undecided) -> ReadPositionWire {
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

    // MARK: Structure

    /// Reads a member's value into `slot`, which must still be empty: for a member that occurs
    /// twice, `JSONDecoder`'s choice is an implementation detail, so it decides.
    private mutating func once<T>(
        _ slot: inout T?, _ value: (inout JSONBytes) throws(Undecided) -> T
    ) throws(Undecided) {
        guard slot == nil else { throw Undecided() }
        slot = try value(&self)
    }

    /// `null`, or the value `value` reads.
    private mutating func nullable<T>(_ value: (inout JSONBytes) throws(Undecided) -> T) throws(Undecided) -> T? {
        skipWhitespace()
        if peek == UInt8(ascii: "n") {
            try literal("null")
            return nil
        }
        return try value(&self)
    }

    /// An object, each member's name handed to `member`, which must consume the value.
    private mutating func object(
        _ member: (inout JSONBytes, MemberName) throws(Undecided) -> Void
    ) throws(Undecided) {
        try enter(UInt8(ascii: "{"))
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            let name = try memberName()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            try member(&self, name)
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "}"))
            depth -= 1
            return
        }
    }

    private mutating func array(_ element: (inout JSONBytes) throws(Undecided) -> Void) throws(Undecided) {
        try enter(UInt8(ascii: "["))
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "]"))
            depth -= 1
            return
        }
    }

    private mutating func enter(_ opening: UInt8) throws(Undecided) {
        skipWhitespace()
        try expect(opening)
        depth += 1
        guard depth <= 64 else { throw Undecided() }
    }

    /// Any value, checked against the grammar and thrown away.
    private mutating func skipValue() throws(Undecided) {
        skipWhitespace()
        switch peek {
        case UInt8(ascii: "{"): try object { (r, _) throws(Undecided) in try r.skipValue() }
        case UInt8(ascii: "["): try array { (r) throws(Undecided) in try r.skipValue() }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try skipNumber()
        }
    }

    // MARK: Scalars

    private var peek: UInt8 { index < bytes.count ? bytes[index] : 0 }

    private mutating func expect(_ byte: UInt8) throws(Undecided) {
        guard peek == byte else { throw Undecided() }
        index += 1
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(Undecided) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count, memcmp(bytes.baseAddress! + index, word.utf8Start, count) == 0 else {
            throw Undecided()
        }
        index += count
    }

    private mutating func bool() throws(Undecided) -> Bool {
        skipWhitespace()
        if peek == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        try literal("false")
        return false
    }

    /// An integer without fraction or exponent that fits in `Int`; anything else is undecided.
    private mutating func int() throws(Undecided) -> Int {
        skipWhitespace()
        let negative = peek == UInt8(ascii: "-")
        if negative { index += 1 }
        let start = index
        var value = 0
        while index < bytes.count, case let digit = bytes[index] &- UInt8(ascii: "0"), digit < 10 {
            let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times.addingReportingOverflow(Int(digit))
            guard !overflowA, !overflowB else { throw Undecided() }
            value = sum
            index += 1
        }
        let digits = index - start
        guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { throw Undecided() }
        switch peek {
        case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): throw Undecided()
        default: return negative ? -value : value
        }
    }

    /// RFC 8259's `number`.
    private mutating func skipNumber() throws(Undecided) {
        if peek == UInt8(ascii: "-") { index += 1 }
        let start = index
        skipDigits()
        guard index > start, index - start == 1 || bytes[start] != UInt8(ascii: "0") else { throw Undecided() }
        if peek == UInt8(ascii: ".") {
            index += 1
            let fraction = index
            skipDigits()
            guard index > fraction else { throw Undecided() }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            let exponent = index
            skipDigits()
            guard index > exponent else { throw Undecided() }
        }
    }

    private mutating func skipDigits() {
        while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
    }

    private mutating func string() throws(Undecided) -> String {
        skipWhitespace()
        try expect(UInt8(ascii: "\""))
        let start = index
        // The closing quote and any backslash before it are found by memchr; a string without
        // escapes (nearly all of them) is then checked for control characters and read whole.
        guard let base = bytes.baseAddress, start < bytes.count,
            let quote = memchr(base + start, Int32(UInt8(ascii: "\"")), bytes.count - start)
        else { throw Undecided() }
        let end = UnsafeRawPointer(quote).assumingMemoryBound(to: UInt8.self) - base
        if end > start, memchr(base + start, Int32(UInt8(ascii: "\\")), end - start) != nil {
            return try escapedString()
        }
        let content = UnsafeBufferPointer(rebasing: bytes[start..<end])
        var smallest: UInt8 = 0xFF
        var any: UInt8 = 0
        for byte in content {
            smallest = min(smallest, byte)
            any |= byte
        }
        guard smallest >= 0x20 else { throw Undecided() }
        index = end + 1
        if any < 0x80 { return String(decoding: content, as: UTF8.self) }
        guard let text = String(validating: content, as: UTF8.self) else { throw Undecided() }
        return text
    }

    /// The rest of a string with escapes, from its first byte.
    private mutating func escapedString() throws(Undecided) -> String {
        scratch.removeAll(keepingCapacity: true)
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: scratch, as: UTF8.self) else { throw Undecided() }
                return text
            case UInt8(ascii: "\\"):
                let escape = peek
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escape)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"): try unicodeEscape()
                default: throw Undecided()
                }
            case 0..<0x20: throw Undecided()
            default: scratch.append(byte)
            }
        }
        throw Undecided()
    }

    /// `\uXXXX` (its `\u` read), with a surrogate pair's second half; a lone surrogate is
    /// undecided.
    private mutating func unicodeEscape() throws(Undecided) {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
            try literal("\\u")
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw Undecided() }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw Undecided()
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw Undecided() }
        scratch.append(contentsOf: UTF8.encode(unicode)!)
    }

    private mutating func hex4() throws(Undecided) -> UInt32 {
        guard bytes.count - index >= 4 else { throw Undecided() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Undecided()
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private mutating func skipString() throws(Undecided) {
        _ = try string()
    }

    /// A member's name, as one of the names the feed uses; a name with an escape is undecided
    /// (it could spell a known name).
    private mutating func memberName() throws(Undecided) -> MemberName {
        try expect(UInt8(ascii: "\""))
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let name = MemberName(UnsafeBufferPointer(rebasing: bytes[start..<index]))
                index += 1
                if name == .other { try checkUnknownName(start) }
                return name
            }
            guard byte != UInt8(ascii: "\\"), byte >= 0x20 else { throw Undecided() }
            index += 1
        }
        throw Undecided()
    }

    /// An unknown name is skipped, but must still be valid UTF-8 for `JSONDecoder` to read the
    /// document.
    private func checkUnknownName(_ start: Int) throws(Undecided) {
        let content = UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)])
        guard content.allSatisfy({ $0 < 0x80 }) || String(validating: content, as: UTF8.self) != nil else {
            throw Undecided()
        }
    }
}

/// The member names of the feed's objects; `other` for any name it does not use.
private enum MemberName {
    case changes, cursor, hasMore, remaining
    case entity, id, op, user, message, offer, session, read
    case email, name, role
    case conversationId, senderId, recipientId, kind, body, createdAt, offerId, sessionId, readAt
    case therapistId, clientId, type, startsAt, durationMinutes, requiresConfirmation, state, expiresAt, closedAt
    case endedAt, endedBy, remainingSeconds, overtimeSeconds, attendPath
    case readerId, messageId, upTo
    case other

    private static let names: [(StaticString, MemberName)] = [
        ("changes", .changes), ("cursor", .cursor), ("hasMore", .hasMore), ("remaining", .remaining),
        ("entity", .entity), ("id", .id), ("op", .op), ("user", .user), ("message", .message), ("offer", .offer),
        ("session", .session), ("read", .read), ("email", .email), ("name", .name), ("role", .role),
        ("conversationId", .conversationId), ("senderId", .senderId), ("recipientId", .recipientId),
        ("kind", .kind), ("body", .body), ("createdAt", .createdAt), ("offerId", .offerId),
        ("sessionId", .sessionId), ("readAt", .readAt), ("therapistId", .therapistId), ("clientId", .clientId),
        ("type", .type), ("startsAt", .startsAt), ("durationMinutes", .durationMinutes),
        ("requiresConfirmation", .requiresConfirmation), ("state", .state), ("expiresAt", .expiresAt),
        ("closedAt", .closedAt), ("endedAt", .endedAt), ("endedBy", .endedBy),
        ("remainingSeconds", .remainingSeconds), ("overtimeSeconds", .overtimeSeconds),
        ("attendPath", .attendPath), ("readerId", .readerId), ("messageId", .messageId), ("upTo", .upTo),
    ]

    /// The names by their length in bytes.
    private static let byLength: [[(StaticString, MemberName)]] = {
        var table = Array(repeating: [(StaticString, MemberName)](), count: 21)
        for entry in names { table[entry.0.utf8CodeUnitCount].append(entry) }
        return table
    }()

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count < Self.byLength.count else {
            self = .other
            return
        }
        for (name, member) in Self.byLength[bytes.count]
        where memcmp(name.utf8Start, bytes.baseAddress!, bytes.count) == 0 {
            self = member
            return
        }
        self = .other
    }
}
