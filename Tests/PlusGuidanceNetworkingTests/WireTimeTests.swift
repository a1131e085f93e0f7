import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import Testing

@Suite struct WireTimeTests {
    @Test func timesPrintWithThreeDigitsRoundedToTheMillisecond() throws {
        let base = Date(timeIntervalSince1970: 1_800_000_000)
        // 1_800_000_000.007 is stored as 1_800_000_000.00699999…: it must still print .007.
        #expect(WireDecoding.timeString(Date(timeIntervalSince1970: 1_800_000_000.007)) == "2027-01-15T08:00:00.007Z")
        #expect(WireDecoding.timeString(base) == "2027-01-15T08:00:00.000Z")
        #expect(WireDecoding.timeString(Date(timeIntervalSince1970: 1_800_000_000.9996)) == "2027-01-15T08:00:01.000Z")
        #expect(WireDecoding.timeString(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        // Consecutive milliseconds never collide, and every one round-trips.
        var previous = ""
        for step in 0..<2_000 {
            let date = Date(timeIntervalSince1970: (1_800_000_000_000 + Double(step)) / 1_000)
            let text = WireDecoding.timeString(date)
            #expect(text > previous)
            previous = text
            let parsed = try #require(WireDecoding.time(text))
            #expect(abs(parsed.timeIntervalSince(date)) < 0.0005)
        }
    }
}
