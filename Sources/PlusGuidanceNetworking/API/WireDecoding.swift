import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

// The JSON shapes themselves are written once, in `PlusGuidanceWire`, for the SDK and the
// reference server; the API client decodes them and maps them to Domain values there, checked
// against the contract's ranges.

/// RFC 3339 times as the API writes them.
public enum WireDecoding {
    /// Parses an RFC 3339 time, with or without a fraction.
    public static func time(_ text: String) -> Date? { RFC3339.date(text) }

    /// RFC 3339 with three fraction digits, rounded (`PlusGuidanceDomain.RFC3339`).
    public static func timeString(_ date: Date) -> String { RFC3339.string(date) }
}
