import Foundation
import PlusGuidanceDomain

/// Why a value from the wire does not map to a Domain value: outside the contract's ranges, an
/// unknown enum, a malformed time. The SDK reports it as `invalid_response`; it names the field,
/// never the value of a body or a token.
package struct WireError: Error, Equatable, CustomStringConvertible {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { reason }
}

/// The ranges of Documentation/openapi.yaml that values from the wire are checked against, so
/// that no later computation on a cached value can overflow or print nonsense.
package enum WireContract {
    /// Ids, e-mails, names and cursors: 1 to 255 bytes of UTF-8.
    package static let identifierBytes = 1...255
    /// Message bodies, system messages included: the most a person may write (8 KiB).
    package static let bodyBytes = 0...MessageBody.maximumByteCount
    /// Offers and sessions: the durations an offer may ask for.
    package static let durationMinutes = OfferOptions.durationRange
    /// Token lifetimes in seconds: at least one second, at most ten years.
    package static let tokenLifetimeSeconds = 1...(10 * 366 * 86_400)
    /// Access and refresh tokens: opaque, 1 to 8 KiB.
    package static let tokenBytes = 1...8_192

    package static func check(_ value: Int, in range: ClosedRange<Int>, _ field: String) throws(WireError) -> Int {
        guard range.contains(value) else {
            throw WireError("\(field) \(value) outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    package static func check(
        _ text: String, bytes range: ClosedRange<Int>, _ field: String
    ) throws(WireError) -> String {
        guard range.contains(text.utf8.count) else {
            throw WireError(
                "\(field) of \(text.utf8.count) bytes outside \(range.lowerBound)...\(range.upperBound)")
        }
        return text
    }

    package static func identifier(_ text: String, _ field: String) throws(WireError) -> String {
        try check(text, bytes: identifierBytes, field)
    }

    package static func time(_ text: String, _ field: String) throws(WireError) -> Date {
        guard let date = RFC3339.date(text) else { throw WireError("\(field) is not an RFC 3339 time") }
        return date
    }

    package static func value<T: RawRepresentable>(
        _ raw: String, _ field: String
    ) throws(WireError) -> T where T.RawValue == String {
        // The value itself stays out: it is the server's text, and reasons reach logs.
        guard let value = T(rawValue: raw) else { throw WireError("unknown \(field) of \(raw.utf8.count) bytes") }
        return value
    }
}
