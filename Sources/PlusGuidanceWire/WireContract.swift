import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// Why a value from the wire does not map to a Domain value: outside the contract's ranges, an
/// unknown enum, a malformed time. The SDK reports it as `invalid_response`; it names the field,
/// never the value of a body or a token.
@_spi(PlusGuidanceTools) public struct WireError: Error, Equatable, CustomStringConvertible {
    @_spi(PlusGuidanceTools) public var reason: String
    @_spi(PlusGuidanceTools) public init(_ reason: String) { self.reason = reason }
    @_spi(PlusGuidanceTools) public var description: String { reason }
}

/// The ranges of Documentation/openapi.yaml that values from the wire are checked against, so
/// that no later computation on a cached value can overflow or print nonsense.
@_spi(PlusGuidanceTools) public enum WireContract {
    /// Ids, e-mails, names and cursors: 1 to 255 bytes of UTF-8.
    @_spi(PlusGuidanceTools) public static let identifierBytes = 1...255
    /// Message bodies, system messages included: the most a person may write (8 KiB).
    @_spi(PlusGuidanceTools) public static let bodyBytes = 0...MessageBody.maximumByteCount
    /// Offers and sessions: the durations an offer may ask for.
    @_spi(PlusGuidanceTools) public static let durationMinutes = OfferOptions.durationRange
    /// Token lifetimes in seconds: at least one second, at most ten years.
    @_spi(PlusGuidanceTools) public static let tokenLifetimeSeconds = 1...(10 * 366 * 86_400)
    /// Access and refresh tokens: opaque, 1 to 8 KiB.
    @_spi(PlusGuidanceTools) public static let tokenBytes = 1...8_192

    @_spi(PlusGuidanceTools) public static func check(
        _ value: Int, in range: ClosedRange<Int>, _ field: String
    ) throws(WireError) -> Int {
        guard range.contains(value) else {
            throw WireError("\(field) \(value) outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    @_spi(PlusGuidanceTools) public static func check(
        _ text: String, bytes range: ClosedRange<Int>, _ field: String
    ) throws(WireError) -> String {
        guard range.contains(text.utf8.count) else {
            throw WireError(
                "\(field) of \(text.utf8.count) bytes outside \(range.lowerBound)...\(range.upperBound)")
        }
        return text
    }

    @_spi(PlusGuidanceTools) public static func identifier(_ text: String, _ field: String) throws(WireError) -> String
    {
        try check(text, bytes: identifierBytes, field)
    }

    @_spi(PlusGuidanceTools) public static func time(_ text: String, _ field: String) throws(WireError) -> Date {
        guard let date = RFC3339.date(text) else { throw WireError("\(field) is not an RFC 3339 time") }
        return date
    }

    @_spi(PlusGuidanceTools) public static func value<T: RawRepresentable>(
        _ raw: String, _ field: String
    ) throws(WireError) -> T where T.RawValue == String {
        // The value itself stays out: it is the server's text, and reasons reach logs.
        guard let value = T(rawValue: raw) else { throw WireError("unknown \(field) of \(raw.utf8.count) bytes") }
        return value
    }
}
