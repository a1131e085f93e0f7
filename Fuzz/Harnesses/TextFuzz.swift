// libFuzzer harness: the small text formats of the API — RFC 3339 times (the Domain's byte-level
// parser), HTTP dates, problem documents. Oracles: no input traps; a time that parses prints as
// exactly the same time; a fast-path parse agrees with Foundation's from 1583 (its calendar is
// Julian before).
// Built by scripts/fuzz.
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

private let foundation: ISO8601DateFormatter = {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter
}()

private func halfMillisecond(at date: Date) -> TimeInterval {
    0.0005 + abs(date.timeIntervalSince1970).ulp * 8
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    let text = String(decoding: data, as: UTF8.self)

    if let date = RFC3339.date(text) {
        let printed = RFC3339.string(date)
        guard let again = RFC3339.date(printed) else { fatalError("\(printed) does not parse") }
        // A parsed time is millisecond-precise: it prints as exactly the time it is.
        if again != date { fatalError("\(printed) moved by printing") }
    }
    let fast = data.withUnsafeBytes { RFC3339.fastDate($0.bindMemory(to: UInt8.self)) }
    // Foundation's calendar is Julian before 1583: compared only where both are Gregorian.
    if let fast, let year = Int(text.prefix(4)), year >= 1583, let reference = foundation.date(from: text),
        abs(fast.timeIntervalSince(reference)) > halfMillisecond(at: fast)
    {
        fatalError("fast path and Foundation disagree on \(text)")
    }

    if let date = HTTPDate.parse(text) {
        guard let again = HTTPDate.parse(HTTPDate.format(date)) else { fatalError("HTTP date does not print") }
        if abs(again.timeIntervalSince(date)) >= 1 { fatalError("HTTP date moved by printing") }
    }

    if let problem = ProblemDocument.decode(data) {
        _ = problem.domainError
        _ = problem.domainError?.shortDescription
    }
    return 0
}
