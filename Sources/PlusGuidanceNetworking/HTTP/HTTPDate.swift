import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// Parses and formats HTTP dates (RFC 9110 §5.6.7), as carried by the `Date` and `Retry-After`
/// headers.
///
/// Senders must use the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`); recipients must also
/// accept the obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`) forms, so all three parse.
///
/// All three are read and written on the bytes, in the proleptic Gregorian calendar the RFC
/// uses. Foundation's `DateFormatter` did this before: the fuzzer found header values with
/// non-ASCII bytes (`Sun, 06߱ov 1994 08:49:37 GMT`) on which it stops the process with a fatal
/// error, so a server could crash any client with its `Date` header.
public enum HTTPDate {
    /// Parses any of the three forms (surrounding spaces and tabs ignored); `nil` for anything
    /// else, a day name that is not one, or a field out of range.
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { all in
            var start = 0
            var end = all.count
            while start < end, all[start] == 0x20 || all[start] == 0x09 { start += 1 }
            while end > start, all[end - 1] == 0x20 || all[end - 1] == 0x09 { end -= 1 }
            return Fields(UnsafeBufferPointer(rebasing: all[start..<end]))?.date
        }
    }

    /// Formats `date` as an IMF-fixdate (clamped to years 1–9999, so nothing traps).
    public static func format(_ date: Date) -> String {
        let limited = min(max(date.timeIntervalSince1970.rounded(.down), -62_135_596_800), 253_402_300_799)
        let seconds = limited.isNaN ? 0 : Int64(limited)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = RFC3339.civil(days: days)
        let weekday = Int(((days % 7) + 10) % 7)  // 1970-01-01 was a Thursday (index 3)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(String(year + 10_000).dropFirst())
        return "\(weekdays[weekday]), \(two(day)) \(months[Int(month) - 1]) \(yearText) "
            + "\(two(secondOfDay / 3_600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }

    private static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let longWeekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The fields of one of the three forms.
    private struct Fields {
        var year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64

        init?(_ bytes: UnsafeBufferPointer<UInt8>) {
            var reader = Reader(bytes: bytes)
            if let name = reader.word(), name.count == 3, weekdays.contains(name), reader.take(",") {
                // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
                guard reader.take(" "), let day = reader.digits(2), reader.take(" "), let month = reader.month(),
                    reader.take(" "), let year = reader.digits(4), reader.take(" "), let time = reader.time(),
                    reader.take(" GMT"), reader.atEnd
                else { return nil }
                self.init(year: year, month: month, day: day, time: time)
            } else if reader.rewind(), let name = reader.word(), longWeekdays.contains(name), reader.take(",") {
                // RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`; a two-digit year is the one in
                // 1970–2069 (RFC 9110 asks for the most recent past year that ends so).
                guard reader.take(" "), let day = reader.digits(2), reader.take("-"), let month = reader.month(),
                    reader.take("-"), let short = reader.digits(2), reader.take(" "), let time = reader.time(),
                    reader.take(" GMT"), reader.atEnd
                else { return nil }
                self.init(year: short < 70 ? 2000 + short : 1900 + short, month: month, day: day, time: time)
            } else if reader.rewind(), let name = reader.word(), name.count == 3, weekdays.contains(name) {
                // asctime: `Sun Nov  6 08:49:37 1994`
                guard reader.take(" "), let month = reader.month(), reader.take(" ") else { return nil }
                let day: Int64?
                if reader.take(" ") { day = reader.digits(1) } else { day = reader.digits(2) }
                guard let day, reader.take(" "), let time = reader.time(), reader.take(" "),
                    let year = reader.digits(4), reader.atEnd
                else { return nil }
                self.init(year: year, month: month, day: day, time: time)
            } else {
                return nil
            }
        }

        private init?(year: Int64, month: Int64, day: Int64, time: (Int64, Int64, Int64)) {
            guard year >= 1, day >= 1, day <= RFC3339.daysIn(month: month, year: year), time.0 < 24, time.1 < 60,
                time.2 <= 60
            else { return nil }
            (self.year, self.month, self.day) = (year, month, day)
            (hour, minute, second) = time
        }

        var date: Date {
            let days = RFC3339.days(year: year, month: month, day: day)
            return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3_600 + minute * 60 + second))
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func rewind() -> Bool {
            index = 0
            return true
        }

        /// ASCII letters, as a string.
        mutating func word() -> String? {
            let start = index
            while index < bytes.count, (bytes[index] | 0x20) >= UInt8(ascii: "a"),
                (bytes[index] | 0x20) <= UInt8(ascii: "z")
            {
                index += 1
            }
            guard index > start else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }

        mutating func take(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            let pointer = literal.utf8Start
            for offset in 0..<count where bytes[index + offset] != pointer[offset] { return false }
            index += count
            return true
        }

        mutating func digits(_ count: Int) -> Int64? {
            guard let value = RFC3339.digits(bytes, at: index, count) else { return nil }
            index += count
            return value
        }

        mutating func month() -> Int64? {
            guard let name = word(), let found = HTTPDate.months.firstIndex(of: name) else { return nil }
            return Int64(found + 1)
        }

        mutating func time() -> (Int64, Int64, Int64)? {
            guard let hour = digits(2), take(":"), let minute = digits(2), take(":"), let second = digits(2) else {
                return nil
            }
            return (hour, minute, second)
        }
    }
}
