import Foundation

/// The grammar under ``FeedPageReader``: JSON's structure (objects, arrays, skipped values) and
/// its scalars (strings, numbers, literals), each consumed exactly as RFC 8259 and `JSONDecoder`
/// read it, or refused with ``Undecided``.
extension JSONBytes {
    // MARK: Structure

    /// Reads a member's value into `slot`, which must still be empty: for a member that occurs
    /// twice, `JSONDecoder`'s choice is an implementation detail, so it decides.
    mutating func once<T>(
        _ slot: inout T?, _ value: (inout JSONBytes) throws(Undecided) -> T
    ) throws(Undecided) {
        guard slot == nil else { throw Undecided() }
        slot = try value(&self)
    }

    /// `null`, or the value `value` reads.
    mutating func nullable<T>(_ value: (inout JSONBytes) throws(Undecided) -> T) throws(Undecided) -> T? {
        skipWhitespace()
        if peek == UInt8(ascii: "n") {
            try literal("null")
            return nil
        }
        return try value(&self)
    }

    /// An object, each member's name handed to `member`, which must consume the value.
    mutating func object(
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

    mutating func array(_ element: (inout JSONBytes) throws(Undecided) -> Void) throws(Undecided) {
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

    mutating func enter(_ opening: UInt8) throws(Undecided) {
        skipWhitespace()
        try expect(opening)
        depth += 1
        guard depth <= 64 else { throw Undecided() }
    }

    /// Any value, checked against the grammar and thrown away.
    mutating func skipValue() throws(Undecided) {
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

    var peek: UInt8 { index < bytes.count ? bytes[index] : 0 }

    mutating func expect(_ byte: UInt8) throws(Undecided) {
        guard peek == byte else { throw Undecided() }
        index += 1
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func literal(_ word: StaticString) throws(Undecided) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count, memcmp(bytes.baseAddress! + index, word.utf8Start, count) == 0 else {
            throw Undecided()
        }
        index += count
    }

    mutating func bool() throws(Undecided) -> Bool {
        skipWhitespace()
        if peek == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        try literal("false")
        return false
    }

    /// An integer without fraction or exponent that fits in `Int`; anything else is undecided.
    mutating func int() throws(Undecided) -> Int {
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
    mutating func skipNumber() throws(Undecided) {
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

    mutating func skipDigits() {
        while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
    }

    mutating func string() throws(Undecided) -> String {
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
    mutating func escapedString() throws(Undecided) -> String {
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
    mutating func unicodeEscape() throws(Undecided) {
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

    mutating func hex4() throws(Undecided) -> UInt32 {
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

    mutating func skipString() throws(Undecided) {
        _ = try string()
    }

    /// A member's name, as one of the names the feed uses; a name with an escape is undecided
    /// (it could spell a known name).
    mutating func memberName() throws(Undecided) -> MemberName {
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
    func checkUnknownName(_ start: Int) throws(Undecided) {
        let content = UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)])
        guard content.allSatisfy({ $0 < 0x80 }) || String(validating: content, as: UTF8.self) != nil else {
            throw Undecided()
        }
    }
}

/// The member names of the feed's objects; `other` for any name it does not use.
enum MemberName {
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
