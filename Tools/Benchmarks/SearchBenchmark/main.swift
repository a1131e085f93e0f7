// Search benchmark (issue "Nothing about a client readable at rest"): run with
//
//     Tools/Benchmarks/search-benchmark.sh [messages=100000] [large=1000000] [repetitions=3]
//
// 1. A first sync of `messages` messages (feed pages of 500, four a commit, as the engine
//    writes them) with the search index and without it, alternating, same run: the ratio.
// 2. Index bytes per message (the FTS5 shadow tables, by dbstat) and the cache's size.
// 3. Search latency p50/p99 over 1,000 queries (one or two words, whole or a prefix) at
//    `messages` and at `large` messages.
// Bodies: 6 to 30 words drawn from a vocabulary of 20,000 made-up words with a Zipf-like
// frequency (a few words very common, most rare), as conversation text is. Nothing is asserted.
import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting

let arguments = CommandLine.arguments.dropFirst().compactMap(Int.init)
let messageCount = arguments.count > 0 ? arguments[0] : 100_000
let largeCount = arguments.count > 1 ? arguments[1] : 1_000_000
let repetitions = arguments.count > 2 ? arguments[2] : 3

var generator = SeededGenerator(seed: 42)
let syllables = ["ka", "lo", "mi", "sen", "ta", "ru", "ve", "no", "shi", "pa", "dre", "um", "cal", "ist", "or", "ne"]
let vocabulary: [String] = (0..<20_000).map { _ in
    (0..<Int.random(in: 2...4, using: &generator)).map { _ in syllables.randomElement(using: &generator)! }.joined()
}
/// A Zipf-like pick: index ~ vocabulary.count ^ u, so low indexes are the common words.
func word(_ g: inout SeededGenerator) -> String {
    let index = Int(pow(Double(vocabulary.count), Double.random(in: 0..<1, using: &g))) - 1
    return vocabulary[max(0, min(vocabulary.count - 1, index))]
}
let history = SyntheticHistory(conversations: 1_000)
func message(_ i: Int, _ g: inout SeededGenerator) -> Message {
    var m = history.message(i)
    m.body = (0..<Int.random(in: 6...30, using: &g)).map { _ in word(&g) }.joined(separator: " ")
    return m
}

/// A line on standard output at once (print's buffer holds it when the output is a file).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let clock = ContinuousClock()
let work = FileManager.default.temporaryDirectory.path + "/pg-search-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }
let keys = FileKeyProvider(path: work + "/key")

/// A first sync of `count` messages into a new account; its time and the storage.
func firstSync(_ count: Int, account: String, indexed: Bool) async throws -> (Double, AccountStorage) {
    SearchIndex.indexesMessages = indexed
    defer { SearchIndex.indexesMessages = true }
    let storage = try AccountStorage(profile: work + "/profile", account: account, keys: keys)
    // PG_SEARCH_BENCH_SQL: statements run on the cache first (to try FTS5 settings).
    if let sql = ProcessInfo.processInfo.environment["PG_SEARCH_BENCH_SQL"], indexed {
        try await storage.cache.database.write { try $0.execute(sql: sql) }
    }
    var g = SeededGenerator(seed: 7)
    var pages: [ChangePage] = []
    var elapsed = Duration.zero
    for start in stride(from: 0, to: count, by: 500) {
        let end = min(count, start + 500)
        pages.append(
            ChangePage(
                changes: (start..<end).map { .message(message($0, &g)) }, cursor: FeedCursor("c\(end)"),
                hasMore: end < count))
        if pages.count == 4 || end == count {
            let batch = pages
            let started = clock.now
            try await storage.cache.apply(batch)
            elapsed += clock.now - started
            pages.removeAll()
        }
    }
    return (Statistics.seconds(elapsed), storage)
}

func indexBytes(_ storage: AccountStorage) async throws -> (index: Int, total: Int) {
    try await storage.cache.database.read { db in
        let index = try Int.fetchOne(db, sql: "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'searchIndex%'") ?? 0
        let total = try Int.fetchOne(db, sql: "SELECT sum(pgsize) FROM dbstat") ?? 0
        return (index, total)
    }
}

func searchLatencies(_ storage: AccountStorage, count: Int) async throws -> [Double] {
    var g = SeededGenerator(seed: 99)
    var latencies: [Double] = []
    var slowest: [(Double, String, Int)] = []
    var found = 0
    for _ in 0..<1_000 {
        var terms = (0..<Int.random(in: 1...2, using: &g)).map { _ in word(&g) }
        if Bool.random(using: &g) { terms[0] = String(terms[0].prefix(Int.random(in: 3...5, using: &g))) }
        let query = terms.joined(separator: " ")
        let started = clock.now
        let hits = try await storage.cache.search(query, in: nil, limit: 20).count
        found += hits
        latencies.append(Statistics.seconds(clock.now - started) * 1_000)
        slowest.append((latencies.last!, query, hits))
    }
    for (ms, query, hits) in slowest.sorted(by: { $0.0 > $1.0 }).prefix(5) {
        say(String(format: "  slow: %.1f ms %@ (%d hits)", ms, query, hits))
    }
    say("  (\(found) hits over 1,000 queries at \(count) messages)")
    return latencies.sorted()
}

say("PlusGuidanceKit search benchmark: \(messageCount) and \(largeCount) messages, \(repetitions) repetitions")
var with: [Double] = []
var without: [Double] = []
var sized: AccountStorage?
for repetition in 0..<repetitions {
    let (plain, a) = try await firstSync(messageCount, account: "plain\(repetition)", indexed: false)
    try a.wipe()
    let (indexed, b) = try await firstSync(messageCount, account: "indexed\(repetition)", indexed: true)
    without.append(plain)
    with.append(indexed)
    say(String(format: "  first sync of %d: without index %.2f s, with %.2f s", messageCount, plain, indexed))
    if repetition == repetitions - 1 { sized = b } else { try b.wipe() }
}
say(
    String(
        format: "first sync of %d messages: median %.2f s with the index, %.2f s without: %.3f×", messageCount,
        Statistics.median(with), Statistics.median(without), Statistics.median(with) / Statistics.median(without)))
let (index, total) = try await indexBytes(sized!)
say(
    String(
        format: "index: %.1f bytes a message (%.1f MB of %.1f MB of cache)", Double(index) / Double(messageCount),
        Double(index) / 1e6, Double(total) / 1e6))
let small = try await searchLatencies(sized!, count: messageCount)
say(
    String(
        format: "search at %d: p50 %.2f ms, p99 %.2f ms", messageCount, Statistics.percentile(small, 0.5),
        Statistics.percentile(small, 0.99))
)
try sized!.wipe()
if largeCount > 0 {
    let (time, large) = try await firstSync(largeCount, account: "large", indexed: true)
    say(String(format: "first sync of %d with the index: %.1f s", largeCount, time))
    let (largeIndex, _) = try await indexBytes(large)
    say(String(format: "index at %d: %.1f bytes a message", largeCount, Double(largeIndex) / Double(largeCount)))
    let big = try await searchLatencies(large, count: largeCount)
    say(
        String(
            format: "search at %d: p50 %.2f ms, p99 %.2f ms", largeCount, Statistics.percentile(big, 0.5),
            Statistics.percentile(big, 0.99)))
    try large.wipe()
}
