// Encryption benchmark (issue "Health data at rest"): run with
//
//     swift run -c release encryption-benchmark [messages] [rounds]
//
// Defaults: 200,000 messages over 200 conversations, 3 rounds. The cost of sealing, measured
// side by side in one run: the same cache store code with the account's AES-256-GCM cipher and
// with sealing switched off (`FieldCipher.unencrypted`), rounds interleaved so the machine's
// noise hits both alike. "First sync" is the cache ingest of an initial sync (feed pages of 500
// changes, 10 pages a commit, as `FeedPuller` applies them): the network and JSON decoding of a
// real sync only add the same time to both sides, so this is the strict ratio. "Query" is the
// latest 50 messages of a conversation through the public async API. No figure is asserted.
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting

let arguments = CommandLine.arguments.dropFirst().compactMap(Int.init)
let messageCount = arguments.count > 0 ? arguments[0] : 200_000
let rounds = arguments.count > 1 ? arguments[1] : 3
let conversationCount = 200
let pageSize = 500
let queries = 5_000

let history = SyntheticHistory(conversations: conversationCount)
let therapist = history.therapist
let relations = history.relations
let epoch = history.epoch
func message(_ i: Int) -> Message { history.message(i) }

// The pages are built once: both sides ingest the very same values.
let pages: [[ChangePage]] = stride(from: 0, to: messageCount, by: pageSize * 10).map { batchStart in
    stride(from: batchStart, to: min(messageCount, batchStart + pageSize * 10), by: pageSize).map { start in
        let end = min(messageCount, start + pageSize)
        return ChangePage(changes: (start..<end).map { .message(message($0)) }, cursor: FeedCursor("c\(end)"))
    }
}

let clock = ContinuousClock()
let work = FileManager.default.temporaryDirectory.path + "/pg-encryption-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }

struct Round {
    var ingestRowsPerSecond: Double
    var queryP50: Double
    var queryP99: Double
    /// Process CPU time (all threads), less noisy than wall time on a shared machine.
    var ingestCPUMicrosecondsPerRow: Double
    var queryCPUMicroseconds: Double
}

/// User plus system CPU time of the whole process, in seconds.
func processCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func run(_ cipher: FieldCipher, _ name: String) async throws -> Round {
    let path = work + "/\(name)-\(UUID().uuidString).sqlite"
    defer {
        for suffix in ["", "-wal", "-shm", "-open.lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
    let store = try SQLiteCacheStore(path: path, cipher: cipher)
    let started = clock.now
    let ingestCPU = processCPU()
    for batch in pages { try await store.apply(batch) }
    let ingest = Statistics.seconds(clock.now - started)
    let ingestCPUSeconds = processCPU() - ingestCPU
    let queryCPU = processCPU()
    var latencies: [Double] = []
    latencies.reserveCapacity(queries)
    for i in 0..<queries {
        let conversation = relations[(i * 7_919) % conversationCount].conversationID
        let queryStarted = clock.now
        let rows = try await store.messages(in: conversation, limit: 50, before: nil)
        latencies.append(Statistics.seconds(clock.now - queryStarted) * 1_000)
        precondition(rows.count == min(50, messageCount / conversationCount))
    }
    let queryCPUSeconds = processCPU() - queryCPU
    latencies.sort()
    return Round(
        ingestRowsPerSecond: Double(messageCount) / ingest, queryP50: Statistics.percentile(latencies, 0.5),
        queryP99: Statistics.percentile(latencies, 0.99),
        ingestCPUMicrosecondsPerRow: ingestCPUSeconds * 1e6 / Double(max(1, messageCount)),
        queryCPUMicroseconds: queryCPUSeconds * 1e6 / Double(queries))
}

// The cipher alone: one seal and one open of a typical body.
do {
    let cipher = FieldCipher.ephemeral()
    let body = history.body
    var sealedBodies: [Data] = []
    sealedBodies.reserveCapacity(100_000)
    let rows = (0..<100_000).map { "msg_\($0)" }
    let sealStarted = clock.now
    for row in rows { sealedBodies.append(try cipher.sealString(body, table: "message", row: row)) }
    let sealNanoseconds = Statistics.seconds(clock.now - sealStarted) * 1e9 / 100_000
    let openStarted = clock.now
    for (i, row) in rows.enumerated() { _ = try cipher.openString(sealedBodies[i], table: "message", row: row) }
    let openNanoseconds = Statistics.seconds(clock.now - openStarted) * 1e9 / 100_000
    print(
        String(
            format: "cipher alone: seal %.0f ns, open %.0f ns per %d-byte body", sealNanoseconds, openNanoseconds,
            body.utf8.count))
}
if ProcessInfo.processInfo.environment["PG_BENCH_CIPHER_ONLY"] != nil { exit(0) }

print(
    "PlusGuidanceKit encryption benchmark: \(messageCount) messages, \(conversationCount) conversations, \(rounds) rounds"
)
if let only = ProcessInfo.processInfo.environment["PG_BENCH_ONLY"] {
    // One side alone, for a profiler.
    let round = try await run(only == "sealed" ? .ephemeral() : .unencrypted, only)
    print(
        String(
            format: "%@: %.0f rows/s, query p50 %.3f ms, p99 %.3f ms", only, round.ingestRowsPerSecond, round.queryP50,
            round.queryP99))
    exit(0)
}
var plain: [Round] = []
var sealed: [Round] = []
for round in 0..<rounds {
    // Alternate which side goes first, so neither always runs on a warmer machine.
    if round % 2 == 0 {
        plain.append(try await run(.unencrypted, "plain"))
        sealed.append(try await run(.ephemeral(), "sealed"))
    } else {
        sealed.append(try await run(.ephemeral(), "sealed"))
        plain.append(try await run(.unencrypted, "plain"))
    }
    print(
        String(
            format: "round %d: first sync %.0f vs %.0f rows/s (plain vs sealed), query p99 %.3f vs %.3f ms", round + 1,
            plain[round].ingestRowsPerSecond, sealed[round].ingestRowsPerSecond, plain[round].queryP99,
            sealed[round].queryP99))
}
let plainRate = Statistics.median(plain.map(\.ingestRowsPerSecond))
let sealedRate = Statistics.median(sealed.map(\.ingestRowsPerSecond))
let plainP99 = Statistics.median(plain.map(\.queryP99))
let sealedP99 = Statistics.median(sealed.map(\.queryP99))
print(
    String(
        format: "first sync (median): plain %.0f rows/s, sealed %.0f rows/s: time sealed/plain = %.3f (goal <= 1.10)",
        plainRate, sealedRate, plainRate / sealedRate))
print(
    String(
        format: "latest 50 (median of p50): plain %.3f ms, sealed %.3f ms", Statistics.median(plain.map(\.queryP50)),
        Statistics.median(sealed.map(\.queryP50))))
print(
    String(
        format: "latest 50 (median of p99): plain %.3f ms, sealed %.3f ms: sealed/plain = %.3f (goal <= 1.10)",
        plainP99, sealedP99, sealedP99 / plainP99))
print(
    String(
        format:
            "CPU (median): first sync %.2f vs %.2f µs a row (sealed/plain = %.3f), query %.0f vs %.0f µs (sealed/plain = %.3f)",
        Statistics.median(plain.map(\.ingestCPUMicrosecondsPerRow)),
        Statistics.median(sealed.map(\.ingestCPUMicrosecondsPerRow)),
        Statistics.median(sealed.map(\.ingestCPUMicrosecondsPerRow))
            / Statistics.median(plain.map(\.ingestCPUMicrosecondsPerRow)),
        Statistics.median(plain.map(\.queryCPUMicroseconds)), Statistics.median(sealed.map(\.queryCPUMicroseconds)),
        Statistics.median(sealed.map(\.queryCPUMicroseconds)) / Statistics.median(plain.map(\.queryCPUMicroseconds))))
