import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import PropertyBased
import Testing

/// The byte-level RFC 3339 path against Foundation's ISO 8601 style, which it replaces on the
/// API's own shape and defers to for everything else.
@Suite struct RFC3339Tests {
    static let withFraction = Date.ISO8601FormatStyle.iso8601.year().month().day().time(
        includingFractionalSeconds: true)

    /// Foundation's reading, the reference.
    static func foundation(_ text: String) -> Date? {
        (try? Date(text, strategy: withFraction)) ?? (try? Date(text, strategy: .iso8601))
    }

    /// Any millisecond from 1583 to 9999 prints as Foundation prints it (rounded, not
    /// truncated) and reads back to the same millisecond, by the fast path and by Foundation.
    @Test func everyMillisecondPrintsAndParsesAsFoundationDoes() async {
        // 1583-01-01 … 9999-12-31, in milliseconds since 1970.
        await propertyCheck(count: 20_000, input: Gen.int(in: -12_212_553_600_000...253_402_300_799_999)) { millis in
            let date = Date(timeIntervalSince1970: Double(millis) / 1_000)
            let text = RFC3339.string(date)
            let seconds = Date(timeIntervalSince1970: (Double(millis) / 1_000).rounded(.down))
            let whole = seconds.formatted(.iso8601)
            #expect(text.hasPrefix(whole.dropLast()), "\(text) vs \(whole)")
            #expect(text.count == 24 && text.hasSuffix("Z"))
            let parsed = RFC3339.date(text)
            let reference = Self.foundation(text)
            #expect(parsed.map { Int64(($0.timeIntervalSince1970 * 1_000).rounded()) } == Int64(millis))
            #expect(reference.map { Int64(($0.timeIntervalSince1970 * 1_000).rounded()) } == Int64(millis))
            // Without the fraction, the same second.
            let plain = String(text.prefix(19)) + "Z"
            #expect(RFC3339.date(plain) == Self.foundation(plain))
        }
    }

    @Test func theCalendarEdgesAreTheGregorianOnes() {
        for (text, ok) in [
            ("2028-02-29T23:59:59.999Z", true), ("2027-02-29T00:00:00Z", false), ("2000-02-29T12:00:00Z", true),
            ("1900-02-29T12:00:00Z", false), ("2027-04-31T00:00:00Z", false), ("2027-12-31T23:59:59Z", true),
            ("2027-13-01T00:00:00Z", false), ("2027-00-10T00:00:00Z", false), ("2027-01-00T00:00:00Z", false),
            ("2027-01-15T24:00:00Z", false), ("2027-01-15T08:60:00Z", false), ("1583-01-01T00:00:00.000Z", true),
            ("9999-12-31T23:59:59.999Z", true),
        ] {
            let fast = text.utf8.withContiguousStorageIfAvailable { RFC3339.fastDate($0) } ?? nil
            #expect((fast != nil) == ok, "\(text)")
            // The same millisecond as Foundation's reading (the doubles may differ in the last bit).
            if let fast {
                let reference = Self.foundation(text).map { Int64(($0.timeIntervalSince1970 * 1_000).rounded()) }
                #expect(Int64((fast.timeIntervalSince1970 * 1_000).rounded()) == reference, "\(text)")
            }
        }
    }

    /// Other RFC 3339 shapes are read from the bytes: offsets, any number of fraction digits,
    /// lowercase `t` and `z`; years before 1583 in the proleptic Gregorian calendar.
    @Test func otherShapesOfRFC3339Parse() throws {
        let epoch = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z
        #expect(RFC3339.date("2027-01-15T08:00:00+01:00") == epoch - 3_600)
        #expect(RFC3339.date("2027-01-15T03:30:00-04:30") == epoch)
        #expect(RFC3339.date("2027-01-15t08:00:00z") == epoch)
        #expect(RFC3339.date("2027-01-15T08:00:00.1234567Z") == RFC3339.date("2027-01-15T08:00:00.123Z"))
        #expect(RFC3339.date("2027-01-15T08:00:00.5Z") == epoch + 0.5)
        #expect(RFC3339.date("2027-01-15T07:59:60Z") == epoch)  // a leap second
        let old = try #require(RFC3339.date("1200-01-15T08:00:00Z"))
        #expect(RFC3339.string(old) == "1200-01-15T08:00:00.000Z")
        // The proleptic Gregorian calendar for every year (Foundation's is Julian before 1583):
        // 1500 is no leap year, so an offset across its 1 March lands on 28 February, and the
        // fuzzer's `1500-03-01T00:00:00+02:00` prints as a day that parses back.
        let march = try #require(RFC3339.date("1500-03-01T00:00:00+02:00"))
        #expect(RFC3339.string(march) == "1500-02-28T22:00:00.000Z")
        #expect(RFC3339.date(RFC3339.string(march)) == march)
        #expect(RFC3339.date("1500-02-29T00:00:00Z") == nil)
        // The API's own shape takes the fast path for early years too, with the same result.
        let early = "1200-01-15T08:00:00.250Z".utf8.withContiguousStorageIfAvailable { RFC3339.fastDate($0) } ?? nil
        #expect(early == RFC3339.date("1200-01-15T09:00:00.250+01:00"))
        #expect(RFC3339.date("1200-02-29T00:00:00Z") != nil)  // divisible by 400
        #expect(RFC3339.string(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000Z")
        let oldOffset = try #require(RFC3339.date("1200-01-15T09:00:00.250+01:00"))
        #expect(oldOffset == old + 0.25)
        for text in [
            "2027-01-15 08:00:00Z", "2027-1-15T08:00:00Z", "", "not a time", "２０２７-01-15T08:00:00Z",
            "2027-01-15T08:00:00.00aZ", "2027-01-15T08:00:00",
        ] {
            #expect(RFC3339.date(text) == nil, "\(text)")
        }
    }

    /// Times are millisecond-precise, as on the wire: a longer fraction rounds to the nearest
    /// millisecond (half up, carrying into the second), so what parses prints back as exactly
    /// itself. The fuzzer found `1013-01-15T08:05:00.0002Z`: kept to the tenth of a millisecond,
    /// a session's overtime changed by a second once the time crossed the wire again.
    @Test func aLongerFractionRoundsToTheMillisecond() throws {
        let epoch = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z
        #expect(RFC3339.date("2027-01-15T08:00:00.0004Z") == epoch)
        #expect(RFC3339.date("2027-01-15T08:00:00.0005Z") == RFC3339.date("2027-01-15T08:00:00.001Z"))
        #expect(RFC3339.date("2027-01-15T07:59:59.99951Z") == epoch)
        #expect(RFC3339.date("2027-01-15T09:00:00.0004+01:00") == epoch)
        #expect(RFC3339.date("9999-12-31T23:59:59.9996Z") == nil)  // rounds past the last printable time
        for text in [
            "1013-01-15T08:05:00.0002Z", "1969-12-31T23:59:59.99949Z", "2027-01-15T08:00:00.1234567+05:45",
            "0002-06-01T00:00:00.0001Z", "1583-01-01T00:00:00.9999Z",
        ] {
            let date = try #require(RFC3339.date(text), "\(text)")
            #expect(RFC3339.date(RFC3339.string(date)) == date, "\(text)")
        }
    }

    /// Foundation's ISO 8601 style also takes longer years and trailing bytes (the fuzzer found
    /// `202283-01-01T00:00:00.5+07-01-%1T08q2`); only RFC 3339's `date-time` parses, and only
    /// within the years ``RFC3339/string(_:)`` prints.
    @Test func onlyRFC3339sGrammarParses() {
        for text in [
            "202283-01-01T00:00:00.5+07-01-%1T08q2", "2027-01-15T08:00:00Zjunk", "2027-01-15T08:00:00+01:00x",
            "+12027-01-15T08:00:00Z", "2027-13-01T00:00:00+00:00", "2027-02-29T00:00:00+00:00",
            "2027-01-15T24:00:00+01:00", "2027-01-15T08:00:00.+01:00", "2027-01-15T08:00:00+1:00",
            "9999-12-31T23:00:00-05:00", "0000-01-01T00:30:00+01:00",
        ] {
            #expect(RFC3339.date(text) == nil, "\(text)")
        }
        #expect(RFC3339.date("2027-01-15T08:00:00.5+02:00") == Date(timeIntervalSince1970: 1_800_000_000 - 7_200 + 0.5))
        #expect(RFC3339.date("2024-02-29T12:00:00.123456-03:30") != nil)
    }

    /// No time traps, not even one no calendar holds.
    @Test func timesOutsideTheCalendarClampInsteadOfTrapping() {
        #expect(RFC3339.string(Date(timeIntervalSince1970: .infinity)) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.string(Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.string(Date(timeIntervalSince1970: -1e300)).hasPrefix("0001-01-0"))
        #expect(RFC3339.string(Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.string(Date(timeIntervalSince1970: 1_800_000_000.006_999_9)) == "2027-01-15T08:00:00.007Z")
        #expect(RFC3339.string(Date(timeIntervalSince1970: -0.0004)) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.string(Date(timeIntervalSince1970: -0.0006)) == "1969-12-31T23:59:59.999Z")
    }
}
