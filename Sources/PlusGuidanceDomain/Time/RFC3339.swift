import Foundation

/// Times as the API writes them: RFC 3339 in UTC with exactly three fraction digits.
///
/// Shared by the reference server and the SDK so both round the same way. Foundation's ISO 8601
/// style truncates the fraction, so a time stored as 1_800_000_000.00699999… would print as
/// `.006`; two consecutive milliseconds could then collide and same-moment messages sort at
/// random. ``string(_:)`` rounds to the nearest millisecond instead.
///
/// Every message, offer and session of a feed page carries times, so both directions are
/// arithmetic on the bytes, with no formatter: the API's own shape (`2027-01-15T08:00:00.007Z`)
/// on a fast path, other RFC 3339 shapes — an offset, another number of fraction digits,
/// lowercase `t` and `z` — on the general one. The calendar is the proleptic Gregorian one of
/// RFC 3339 and ISO 8601 for all years 1–9999. Foundation switches to the Julian calendar before
/// 1583, and the fuzzer found what that mix did: `1500-03-01T00:00:00+02:00` printed as
/// `1500-02-29T22:00:00.000Z`, a day that does not exist in the Gregorian calendar, and did not
/// parse back.
public enum RFC3339 {
    /// `2027-01-15T08:00:00.007Z`.
    public static func string(_ date: Date) -> String {
        // Clamped to years 1–9999, so no time (not even infinity or NaN) can trap.
        let scaled = (date.timeIntervalSince1970 * 1_000).rounded()
        let milliseconds = scaled.isNaN ? 0 : Int64(min(max(scaled, -62_135_596_800_000), 253_402_300_799_999))
        let seconds = milliseconds >= 0 ? milliseconds / 1_000 : (milliseconds - 999) / 1_000
        let fraction = milliseconds - seconds * 1_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(days: days)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            func put(_ value: Int64, digits: Int, at offset: Int) {
                var rest = value
                for index in stride(from: offset + digits - 1, through: offset, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
            }
            put(year, digits: 4, at: 0)
            buffer[4] = UInt8(ascii: "-")
            put(month, digits: 2, at: 5)
            buffer[7] = UInt8(ascii: "-")
            put(day, digits: 2, at: 8)
            buffer[10] = UInt8(ascii: "T")
            put(secondOfDay / 3_600, digits: 2, at: 11)
            buffer[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, digits: 2, at: 14)
            buffer[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, digits: 2, at: 17)
            buffer[19] = UInt8(ascii: ".")
            put(fraction, digits: 3, at: 20)
            buffer[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    /// Parses an RFC 3339 `date-time`, with or without a fraction, in UTC or with an offset;
    /// `nil` for anything else, and for a time outside years 1–9999 in UTC (which
    /// ``string(_:)`` could not print back).
    ///
    /// Times are millisecond-precise, as on the wire: a longer fraction is rounded to the
    /// nearest millisecond (half up), so the `Date` is exactly the one that ``string(_:)`` prints
    /// and this function reads back. A value the SDK caches is then the value it would send, and
    /// what is computed from it (a countdown) is the same before and after a round trip.
    ///
    /// The grammar, the fraction and the offset are read from the bytes. Foundation's ISO 8601
    /// style is not used: it accepts longer years and trailing bytes, its style with fractional
    /// seconds ignores an offset, and its calendar before 1583 is the Julian one.
    public static func date(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes in
            if let date = fastDate(bytes) { return date }
            guard let parts = DateTimeParts(bytes) else { return nil }
            let second = min(parts.second, 59)  // a leap second is the next minute's first
            let days = days(year: parts.year, month: parts.month, day: parts.day)
            let base = days * 86_400 + parts.hour * 3_600 + parts.minute * 60 + second
            let milliseconds = (base + parts.second - second - parts.offsetSeconds) * 1_000 + parts.milliseconds
            guard printableMilliseconds.contains(milliseconds) else { return nil }
            return date(milliseconds: milliseconds)
        }
    }

    /// The `Date` of a count of milliseconds since 1970, built as ``fastDate(_:)`` builds it
    /// (whole seconds, rounded down, plus the milliseconds), so that both give the same `Date`.
    private static func date(milliseconds: Int64) -> Date {
        let seconds = milliseconds >= 0 ? milliseconds / 1_000 : (milliseconds - 999) / 1_000
        return Date(timeIntervalSince1970: Double(seconds) + Double(milliseconds - seconds * 1_000) / 1_000)
    }

    /// 0001-01-01T00:00:00.000Z through 9999-12-31T23:59:59.999Z, in milliseconds since 1970.
    private static let printableMilliseconds: ClosedRange<Int64> =
        days(year: 1, month: 1, day: 1) * 86_400_000...(days(year: 10_000, month: 1, day: 1) * 86_400_000 - 1)

    /// The fields of RFC 3339's `date-time` (§5.6), every one in range: `YYYY-MM-DD`, `T`,
    /// `HH:MM:SS` (a leap second allowed), an optional fraction of one or more digits, then `Z`
    /// or `±HH:MM`. Lowercase `t` and `z` are allowed, as the RFC allows them; nothing may follow.
    struct DateTimeParts {
        var year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64
        /// The fraction, rounded to the nearest millisecond: 0 to 1000.
        var milliseconds: Int64 = 0
        var offsetSeconds: Int64 = 0

        init?(_ bytes: UnsafeBufferPointer<UInt8>) {
            func number(_ offset: Int, _ count: Int) -> Int64? { RFC3339.digits(bytes, at: offset, count) }
            func byte(_ offset: Int, _ allowed: String) -> Bool {
                offset < bytes.count && allowed.utf8.contains(bytes[offset])
            }
            guard let year = number(0, 4), byte(4, "-"), let month = number(5, 2), byte(7, "-"),
                let day = number(8, 2), byte(10, "Tt"), let hour = number(11, 2), byte(13, ":"),
                let minute = number(14, 2), byte(16, ":"), let second = number(17, 2),
                (1...12).contains(month), day >= 1, day <= RFC3339.daysIn(month: month, year: year), hour < 24,
                minute < 60, second <= 60
            else { return nil }
            (self.year, self.month, self.day, self.hour, self.minute, self.second) = (
                year, month, day, hour, minute, second
            )
            var index = 19
            if byte(index, ".") {
                index += 1
                let first = index
                var scale: Int64 = 100
                while index < bytes.count, case let digit = bytes[index] &- UInt8(ascii: "0"), digit < 10 {
                    if scale > 0 {
                        milliseconds += Int64(digit) * scale
                    } else if index == first + 3, digit >= 5 {
                        milliseconds += 1  // to the nearest millisecond, half up; 1000 carries
                    }
                    scale /= 10
                    index += 1
                }
                guard index > first else { return nil }
            }
            if byte(index, "Zz") {
                guard index + 1 == bytes.count else { return nil }
                return
            }
            guard byte(index, "+-"), let offsetHour = number(index + 1, 2), byte(index + 3, ":"),
                let offsetMinute = number(index + 4, 2), offsetHour < 24, offsetMinute < 60,
                index + 6 == bytes.count
            else { return nil }
            offsetSeconds = (offsetHour * 3_600 + offsetMinute * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ` with every field in range, the
    /// shape the API writes; `nil` for anything else, which ``date(_:)`` then reads with
    /// ``DateTimeParts``. Both give the same `Date` where both read a time.
    @_spi(PlusGuidanceTools) public static func fastDate(_ bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        guard bytes.count == 20 || bytes.count == 24, bytes[bytes.count - 1] == UInt8(ascii: "Z"),
            bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ offset: Int, _ count: Int) -> Int64? { digits(bytes, at: offset, count) }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2), (1...9999).contains(year),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24, minute < 60,
            second < 60
        else { return nil }
        var milliseconds: Int64 = 0
        if bytes.count == 24 {
            guard bytes[19] == UInt8(ascii: "."), let fraction = number(20, 3) else { return nil }
            milliseconds = fraction
        }
        let seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3_600 + minute * 60 + second
        return date(milliseconds: seconds * 1_000 + milliseconds)
    }

    /// The decimal number in `count` ASCII digits of `bytes` from `offset`; `nil` past the end or
    /// for any other byte.
    @_spi(PlusGuidanceTools) public static func digits(
        _ bytes: UnsafeBufferPointer<UInt8>, at offset: Int, _ count: Int
    ) -> Int64? {
        guard offset >= 0, offset + count <= bytes.count else { return nil }
        var value: Int64 = 0
        for index in offset..<offset + count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
        }
        return value
    }

    @_spi(PlusGuidanceTools) public static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    @_spi(PlusGuidanceTools) public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day since 1970-01-01 (`civil_from_days`).
    @_spi(PlusGuidanceTools) public static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shifted + 2) / 5 + 1
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
