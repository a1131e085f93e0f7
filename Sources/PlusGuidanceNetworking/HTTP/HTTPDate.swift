import Foundation

/// Parses and formats HTTP dates (RFC 9110 §5.6.7), as carried by the `Date` and `Retry-After`
/// headers.
///
/// Senders must use the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`); recipients must also
/// accept the obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`) forms, so all three parse.
public enum HTTPDate {
    /// Parses any of the three forms; `nil` for anything else.
    public static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for format in formats {
            if let date = formatter(format).date(from: trimmed) { return date }
        }
        return nil
    }

    /// Formats `date` as an IMF-fixdate.
    public static func format(_ date: Date) -> String { formatter(formats[0]).string(from: date) }

    private static let formats = [
        "EEE, dd MMM yyyy HH:mm:ss 'GMT'",
        "EEEE, dd-MMM-yy HH:mm:ss 'GMT'",
        "EEE MMM d HH:mm:ss yyyy",
    ]

    // DateFormatter is not Sendable and costly to create; one per format and thread.
    private static func formatter(_ format: String) -> DateFormatter {
        let key = "PlusGuidanceNetworking.HTTPDate." + format
        if let cached = Thread.current.threadDictionary[key] as? DateFormatter { return cached }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = format
        formatter.isLenient = false
        Thread.current.threadDictionary[key] = formatter
        return formatter
    }
}
