import Foundation

/// Times as the API writes them: RFC 3339 in UTC with exactly three fraction digits.
///
/// Shared by the reference server and the SDK so both round the same way. Foundation's ISO 8601
/// style truncates the fraction, so a time stored as 1_800_000_000.00699999… would print as
/// `.006`; two consecutive milliseconds could then collide and same-moment messages sort at
/// random. ``string(_:)`` rounds to the nearest millisecond instead.
public enum RFC3339 {
    /// `2027-01-15T08:00:00.007Z`.
    public static func string(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1_000).rounded())
        let seconds = milliseconds >= 0 ? milliseconds / 1_000 : (milliseconds - 999) / 1_000
        let fraction = milliseconds - seconds * 1_000
        let whole = Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
        return String(whole.dropLast()) + "." + String(String(fraction + 1_000).dropFirst()) + "Z"
    }

    /// Parses an RFC 3339 time, with or without a fraction; `nil` for anything else.
    public static func date(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)) {
            return date
        }
        return try? Date(text, strategy: .iso8601)
    }
}
