// Sync benchmarks (issue "Sync"), against the release `pg-server` on loopback:
//
//     Benchmarks/sync-benchmark.sh            (builds the release products and runs this)
//     swift run -c release sync-benchmark [messages] [repetitions]
//
// 1. Initial sync of 100k messages + 1k sessions: the SDK (`PlusGuidanceClient.syncNow` in a
//    child process, for its peak RSS) against Benchmarks/sync/pipeline.sh (curl + sqlite3
//    json_each into the same schema), alternating, medians. PG_SYNC_BASELINE=<another build's
//    sync-benchmark> runs that build's initial sync beside this one's on the same server. Then
//    fetch + decode and decode alone: the feed's reader against the JSONDecoder path it replaced.
// 2. Live latency: a message sent by one client until it is observable in the other's cache,
//    over 1,000 messages, p50 and p99.
// 3. Outbox drain: 10k messages queued offline, then delivered; the serial API send rate as
//    the ceiling.
// Nothing is asserted: compare the figures of the same run.
import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting
@_spi(PlusGuidanceTools) import PlusGuidanceWire

#if canImport(Glibc)
    import Glibc
#endif

let clock = ContinuousClock()

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

/// A finished child process: its exit status, stdout, wall time and peak resident memory
/// (the largest of it and the children it waited for).
struct Outcome {
    var status: Int32
    var stdout: String
    var seconds: Double
    var peakRSSMiB: Double
}

/// Runs a program and measures it with `wait4` (Foundation's `Process` reaps without rusage).
func measure(_ executable: String, _ arguments: [String]) throws -> Outcome {
    let output = FileManager.default.temporaryDirectory.path + "/sync-benchmark-\(UUID().uuidString).out"
    defer { try? FileManager.default.removeItem(atPath: output) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let started = clock.now
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawned == 0 else { throw BenchmarkError("cannot start \(executable): \(spawned)") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let elapsed = seconds(clock.now - started)
    let stdout = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    return Outcome(
        status: (status >> 8) & 0xff, stdout: stdout, seconds: elapsed, peakRSSMiB: Double(usage.ru_maxrss) / 1024)
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Signs in through the typed API and returns it with its access token (for curl).
func signIn(_ url: URL, _ name: String, http: CurlHTTPClient) async throws -> (PlusGuidanceAPI, String) {
    let token = TokenBox()
    let api = PlusGuidanceAPI(baseURL: url, http: http, onTokensChanged: { token.value = $0?.accessToken })
    _ = try await api.login(email: "\(name)@example.com", password: "\(name)-pass")
    return (api, token.value ?? "")
}

final class TokenBox: @unchecked Sendable {
    // @unchecked: written once by login before it is read.
    var value: String?
}

/// Fetches the whole feed over plain HTTP, page by page; `page` reads each body (and so finds
/// the next cursor).
func fetchFeed(
    _ server: URL, token: String, limit: Int, http: CurlHTTPClient, _ page: (Data) throws -> ChangePage
) async throws {
    var cursor: String?
    repeat {
        var url = "\(server.absoluteString)/v1/changes?limit=\(limit)"
        if let cursor { url += "&after=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
        let response = try await http.execute(
            HTTPRequest(url: URL(string: url)!, headers: [("Authorization", "Bearer \(token)")]))
        let read = try page(response.body)
        cursor = read.hasMore ? read.cursor.rawValue : nil
    } while cursor != nil
}

func configuration(_ url: URL, profile: String) -> ClientConfiguration {
    var configuration = ClientConfiguration(serverURL: url, profile: profile)
    configuration.retry.maximumAttempts = 1
    return configuration
}

// MARK: Drain mode: the outbox drained in batches against single requests, same run.
//
//     PG_SYNC_BENCH=drain swift run -c release sync-benchmark [queued=10000] [rounds=2]
//
// Each pass queues `queued` texts offline (the proxy refuses connections), lets the network
// back and times `syncNow` until the outbox is empty (not the pull after it); the server's fsync and fdatasync calls
// during the drain are counted by `perf stat` on its tracepoints (0 when perf is missing).
// PG_SYNC_BENCH_SETTLE=seconds pauses between the queueing and the drain.

/// Counts the fsync/fdatasync calls of process `pid` until ``stop()``.
final class FsyncCounter {
    private let perf: ChildProcess?
    private let output = FileManager.default.temporaryDirectory.path + "/sync-benchmark-perf-\(UUID().uuidString).csv"

    init(pid: Int32) {
        perf = try? ChildProcess(
            "/usr/bin/perf",
            [
                "stat", "-x", ",", "-o", output, "-e", "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync", "-p",
                "\(pid)",
            ])
        usleep(300_000)  // perf attaches
    }

    func stop() -> Int {
        guard let perf else { return 0 }
        perf.signal(SIGINT)
        perf.wait(deadline: .now + .seconds(10))
        defer { try? FileManager.default.removeItem(atPath: output) }
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            line.contains("syscalls:") ? Int(line.split(separator: ",").first ?? "") : nil
        }.reduce(0, +)
    }
}

if ProcessInfo.processInfo.environment["PG_SYNC_BENCH"] == "drain" {
    let queued = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000 : 10_000
    let rounds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 2 : 2
    let folder = FileManager.default.temporaryDirectory.path + "/sync-drain-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let server = try await ReferenceServerProcess.launch(arguments: ["--seed", "demo"])
    defer { server.stop() }
    let proxy = try FaultInjectingProxy(upstreamPort: server.url.port!)
    defer { proxy.stop() }
    var rates: [Int: [Double]] = [:]
    var fsyncs: [Int: [Double]] = [:]
    for round in 0..<rounds {
        // PG_SYNC_BENCH_SIZES=100 measures one size alone (for a profile).
        let sizes =
            ProcessInfo.processInfo.environment["PG_SYNC_BENCH_SIZES"].map {
                $0.split(separator: ",").compactMap { Int($0) }
            } ?? [1, 100]
        for batchSize in sizes {
            var settings = configuration(proxy.url, profile: folder + "/\(round)-\(batchSize)")
            settings.outboxBatchSize = batchSize
            let alice = try await PlusGuidanceClient.open(settings)
            _ = try await alice.signIn(email: "alice@example.com", password: "alice-pass")
            try await alice.syncNow()
            proxy.refuseConnections(true)
            // Queueing offline: the sending task wakes for every text and finds the server out
            // of reach, so this also times a delivery round over a long waiting outbox.
            let queueing = clock.now
            for i in 0..<queued { _ = try await alice.send("queued \(round) \(i)", to: "usr_therapist") }
            let queueSeconds = seconds(clock.now - queueing)
            // PG_SYNC_BENCH_SETTLE=seconds: a pause before the drain, for the checkpoints and the
            // sending task's retries of the queueing to end first.
            if let settle = ProcessInfo.processInfo.environment["PG_SYNC_BENCH_SETTLE"].flatMap(Double.init) {
                try await Task.sleep(for: .seconds(settle))
            }
            proxy.refuseConnections(false)
            let counter = FsyncCounter(pid: server.processIdentifier)
            // PG_SYNC_BENCH_PROFILE=folder: perf records this process and the server during the
            // drain only (the queueing before it would drown the profile).
            let profilers = ProcessInfo.processInfo.environment["PG_SYNC_BENCH_PROFILE"].map { folder in
                [(getpid(), "client"), (server.processIdentifier, "server")].compactMap { pid, name in
                    try? ChildProcess(
                        "/usr/bin/perf",
                        [
                            "record", "-F", "1999", "--call-graph", "dwarf,16384", "-o",
                            "\(folder)/drain-\(name)-\(round).perf", "-p", "\(pid)",
                        ])
                }
            }
            if profilers != nil { usleep(300_000) }
            let started = clock.now
            // The drain ends when the outbox is empty; the pull that follows in the same syncNow
            // (the texts coming back in the feed) is not part of it. The outbox file is polled
            // on a connection of its own with a query that stops at the first pending row:
            // `status()` counts the whole outbox, and every 5 ms over 10k rows that took half
            // of the client's CPU time away from the drain it measured (perf).
            let accounts = settings.profile + "/accounts"
            let account = try FileManager.default.contentsOfDirectory(atPath: accounts).first { !$0.hasPrefix(".") }!
            var readOnly = Configuration()
            readOnly.readonly = true
            let outboxFile = try DatabaseQueue(
                path: accounts + "/" + account + "/outbox.sqlite", configuration: readOnly)
            let emptied = Task {
                while try await outboxFile.read({
                    try Bool.fetchOne($0, sql: "SELECT EXISTS (SELECT 1 FROM outbox WHERE state != 'failed')")!
                }) {
                    try await Task.sleep(for: .milliseconds(5))
                }
                return clock.now
            }
            while try await alice.outbox().count > 0 { try await alice.syncNow() }
            let elapsed = seconds(try await emptied.value - started)
            let synced = counter.stop()
            for profiler in profilers ?? [] {
                profiler.signal(SIGINT)
                profiler.wait(deadline: .now + .seconds(30))
            }
            rates[batchSize, default: []].append(Double(queued) / elapsed)
            fsyncs[batchSize, default: []].append(Double(synced) / Double(queued))
            print(
                "drain \(round + 1), \(batchSize == 1 ? "single requests" : "batches of \(batchSize)"): "
                    + "\(format(Double(queued) / elapsed, 0)) msg/s, server fsyncs \(synced) "
                    + "(\(format(Double(synced) / Double(queued), 3)) per action); queued offline at "
                    + "\(format(Double(queued) / queueSeconds, 0)) texts/s")
            await alice.close()
        }
    }
    let single = median(rates[1] ?? [0])
    let batched = median(rates[100] ?? [0])
    print(
        "outbox drain of \(queued) queued texts, medians of \(rounds): batched \(format(batched, 0)) msg/s, "
            + "single \(format(single, 0)) msg/s, \(format(batched / single))x; server fsyncs per action "
            + "\(format(median(fsyncs[100] ?? []), 3)) batched, \(format(median(fsyncs[1] ?? []), 3)) single")
}
// Here, past the block's end, so that its defers ran: `exit` inside it left every pass's server
// database and profiles in the temporary folder.
if ProcessInfo.processInfo.environment["PG_SYNC_BENCH"] == "drain" { exit(0) }

// MARK: Decode mode, for a profiler: the feed of a running server fetched once, then decoded
// again and again by the SDK's page decoder.
//
//     PG_SYNC_BENCH=decode sync-benchmark URL [rounds=10]
if ProcessInfo.processInfo.environment["PG_SYNC_BENCH"] == "decode" {
    let url = URL(string: CommandLine.arguments[1])!
    let rounds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 10 : 10
    let client = CurlHTTPClient()
    let (_, token) = try await signIn(url, "therapist", http: client)
    var pages: [Data] = []
    try await fetchFeed(url, token: token, limit: 500, http: client) { body in
        pages.append(body)
        return try PlusGuidanceAPI.changePage(from: body)
    }
    let bytes = Double(pages.reduce(0) { $0 + $1.count }) / 1_048_576
    for _ in 0..<rounds {
        let started = clock.now
        for page in pages { _ = try PlusGuidanceAPI.changePage(from: page) }
        print("decoded \(format(bytes, 1)) MiB in \(format(seconds(clock.now - started), 3)) s")
    }
    exit(0)
}

// MARK: Child mode: one initial sync, timed inside the process.

if CommandLine.arguments.count >= 4, CommandLine.arguments[1] == "initial-sync" {
    // `no-index`: the same sync without the search index, for its cost (same binary, same run).
    if CommandLine.arguments.dropFirst(4).first == "no-index" { SearchIndex.indexesMessages = false }
    let client = try await PlusGuidanceClient.open(
        configuration(URL(string: CommandLine.arguments[2])!, profile: CommandLine.arguments[3]))
    _ = try await client.signIn(email: "therapist@example.com", password: "therapist-pass")
    let started = clock.now
    try await client.syncNow()
    let elapsed = seconds(clock.now - started)
    print("seconds=\(elapsed)")
    await client.close()
    exit(0)
}

// MARK: Orchestration

let messageCount = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
let repetitions = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 3 : 3
let sessionCount = max(1, messageCount / 100)
let work = FileManager.default.temporaryDirectory.path + "/sync-benchmark-\(UUID().uuidString)"
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }
let http = CurlHTTPClient()
/// The feed's page decoders: this build's, and the JSONDecoder path it replaced (#14).
let decoders: [(String, @Sendable (Data) throws -> ChangePage)] = [
    ("FeedPageReader, the SDK's path", { try PlusGuidanceAPI.changePage(from: $0) }),
    ("JSONDecoder, as before #14", { try JSONDecoder().decode(FeedPageWire.self, from: $0).domain() }),
]
let selfPath = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
let pipeline = FileManager.default.currentDirectoryPath + "/Benchmarks/sync/pipeline.sh"
print("sync-benchmark: \(ProcessInfo.processInfo.activeProcessorCount) cores, release build, pg-server on loopback")

// 1. Initial sync. PG_BENCH_SERVER_DB names a server database to keep and reuse between runs
// (seeding 100k messages through the API takes about a minute).
do {
    let kept = ProcessInfo.processInfo.environment["PG_BENCH_SERVER_DB"]
    let seeded = kept.map { FileManager.default.fileExists(atPath: $0) } ?? false
    let server = try await ReferenceServerProcess.launch(
        databasePath: kept ?? work + "/server.sqlite",
        arguments: ["--seed", "demo", "--presence-window", "1000000", "--access-token-lifetime", "86400"])
    defer { server.stop() }
    let (alice, _) = try await signIn(server.url, "alice", http: http)
    let (theo, theoToken) = try await signIn(server.url, "therapist", http: http)
    // For the pipeline's curl, through its environment (see Benchmarks/sync/pipeline.sh).
    setenv("PG_TOKEN", theoToken, 1)
    let pair = CareRelation(therapistID: "usr_therapist", clientID: "usr_alice")
    let body = String(repeating: "Notes from today's session, and a question for next time. ", count: 3)
    let seeding = clock.now
    if !seeded {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for i in stride(from: worker, to: messageCount, by: 8) {
                        let message = try Message.text(
                            id: MessageID("m\(i)"), from: "usr_alice", to: "usr_therapist", within: pair, body: body,
                            at: Date())
                        _ = try await alice.send(message, idempotencyKey: IdempotencyKey("seed-\(i)"))
                    }
                }
            }
            for worker in 0..<2 {
                group.addTask {
                    for _ in stride(from: worker, to: sessionCount, by: 2) {
                        _ = try await theo.createOffer(
                            to: "usr_alice",
                            options: OfferOptions(type: .video, durationMinutes: 50, requiresConfirmation: false),
                            idempotencyKey: IdempotencyKey(UUID().uuidString))
                    }
                }
            }
            try await group.waitForAll()
        }
    }
    print(
        seeded
            ? "reusing the seeded server database \(kept ?? "")"
            : "seeded \(messageCount) messages and \(sessionCount) sessions in \(format(seconds(clock.now - seeding), 1)) s"
    )

    var sdkTimes: [Double] = []
    var sdkRSS: [Double] = []
    var pipelineTimes: [Double] = []
    var pipelineRSS: [Double] = []
    var importTimes: [Double] = []
    // PG_SYNC_BASELINE names another build's sync-benchmark binary: its initial sync runs
    // after each of this build's, on the same server, for the figures of before and after.
    let baseline = ProcessInfo.processInfo.environment["PG_SYNC_BASELINE"]
    var baselineTimes: [Double] = []
    // The same initial sync without the search index, after each one with it.
    var unindexedTimes: [Double] = []
    var baselineRSS: [Double] = []
    let schema = work + "/schema.sql"
    for repetition in 0..<repetitions {
        let profile = work + "/profile-\(repetition)"
        let sdk = try measure(selfPath, ["initial-sync", server.url.absoluteString, profile])
        guard sdk.status == 0, let line = sdk.stdout.split(separator: "\n").last(where: { $0.hasPrefix("seconds=") })
        else { throw BenchmarkError("the SDK sync failed: \(sdk.stdout)") }
        let fields = Dictionary(
            uniqueKeysWithValues: line.split(separator: " ").map { $0.split(separator: "=") }.map {
                (String($0[0]), String($0[1]))
            })
        sdkTimes.append(Double(fields["seconds"] ?? "") ?? 0)
        sdkRSS.append(sdk.peakRSSMiB)
        let unindexed = try measure(
            selfPath, ["initial-sync", server.url.absoluteString, profile + "-unindexed", "no-index"])
        if let line = unindexed.stdout.split(separator: "\n").last(where: { $0.hasPrefix("seconds=") }) {
            unindexedTimes.append(Double(line.dropFirst("seconds=".count)) ?? 0)
        }
        try? FileManager.default.removeItem(atPath: profile + "-unindexed")
        if let baseline {
            let before = try measure(baseline, ["initial-sync", server.url.absoluteString, profile + "-baseline"])
            guard before.status == 0,
                let line = before.stdout.split(separator: "\n").last(where: { $0.hasPrefix("seconds=") })
            else { throw BenchmarkError("the baseline sync failed: \(before.stdout)") }
            baselineTimes.append(Double(line.dropFirst("seconds=".count)) ?? 0)
            baselineRSS.append(before.peakRSSMiB)
            try? FileManager.default.removeItem(atPath: profile + "-baseline")
        }
        if repetition == 0 {
            // The pipeline inserts into the SDK's own schema, read off the cache it just built.
            let cache = try FileManager.default.contentsOfDirectory(atPath: profile + "/accounts/usr_therapist")
            guard cache.contains("cache.sqlite") else { throw BenchmarkError("no cache at \(profile)") }
            let dump = try measure(
                "/usr/bin/sqlite3", [profile + "/accounts/usr_therapist/cache.sqlite", ".schema --nosys"])
            try (dump.stdout + "\nINSERT INTO syncState (singleton) VALUES (1);\n").write(
                toFile: schema, atomically: true, encoding: .utf8)
            let count = try measure(
                "/usr/bin/sqlite3",
                [
                    profile + "/accounts/usr_therapist/cache.sqlite",
                    "SELECT count(*) FROM message; SELECT count(*) FROM session",
                ])
            print("SDK cache: messages and sessions \(count.stdout.split(separator: "\n").joined(separator: ", "))")
        }
        let pipelineDatabase = work + "/pipeline-\(repetition).sqlite"
        let pages = work + "/pages"
        try? FileManager.default.removeItem(atPath: pages)
        let baseline = try measure("/bin/bash", [pipeline, server.url.absoluteString, pipelineDatabase, schema, pages])
        guard baseline.status == 0 else { throw BenchmarkError("the pipeline failed: \(baseline.stdout)") }
        let importOnly = try measure(
            "/bin/bash", [pipeline, "--import-only", pages, pipelineDatabase + "-import", schema])
        guard importOnly.status == 0 else { throw BenchmarkError("the import failed: \(importOnly.stdout)") }
        importTimes.append(importOnly.seconds)
        try? FileManager.default.removeItem(atPath: pipelineDatabase + "-import")
        if repetition == 0 {
            let count = try measure(
                "/usr/bin/sqlite3", [pipelineDatabase, "SELECT count(*) FROM message; SELECT count(*) FROM session"])
            print("pipeline: messages and sessions \(count.stdout.split(separator: "\n").joined(separator: ", "))")
        }
        try? FileManager.default.removeItem(atPath: pipelineDatabase)
        pipelineTimes.append(baseline.seconds)
        pipelineRSS.append(baseline.peakRSSMiB)
        try? FileManager.default.removeItem(atPath: profile)
        print(
            "  run \(repetition + 1): SDK \(format(sdkTimes.last!)) s (peak RSS \(format(sdk.peakRSSMiB, 1)) MiB), "
                + "curl+sqlite3 \(format(baseline.seconds)) s (peak RSS \(format(baseline.peakRSSMiB, 1)) MiB), "
                + "sqlite3 insert alone \(format(importOnly.seconds)) s"
                + (baselineTimes.isEmpty
                    ? ""
                    : ", baseline SDK \(format(baselineTimes.last!)) s (peak RSS \(format(baselineRSS.last!, 1)) MiB)"))
    }
    // Where the SDK's time goes: fetching and decoding the same feed, storing nothing. Each
    // page's bytes come over HTTP and go through the feed's decoder (FeedPageReader, then the
    // contract's mapping) in the SDK's pages of 750, in pages of 1,000 and in the pages of 500
    // it asked for before, and, as before #14, through JSONDecoder and the same mapping;
    // alternating.
    let fetches: [(String, Int, @Sendable (Data) throws -> ChangePage)] = [
        ("the SDK's pull: FeedPageReader, pages of 750", 750, decoders[0].1),
        ("FeedPageReader, pages of 1,000", 1_000, decoders[0].1),
        ("FeedPageReader, pages of 500", 500, decoders[0].1),
        ("as before #14: JSONDecoder, pages of 500", 500, decoders[1].1),
    ]
    var fetchTimes: [String: [Double]] = [:]
    var feedBytes = 0
    for _ in 0..<repetitions {
        for (path, limit, decode) in fetches {
            let started = clock.now
            try await fetchFeed(server.url, token: theoToken, limit: limit, http: http, decode)
            fetchTimes[path, default: []].append(seconds(clock.now - started))
        }
    }
    // The feed's size: the pages the last pipeline run kept.
    for file in try FileManager.default.contentsOfDirectory(atPath: work + "/pages") {
        let size = try FileManager.default.attributesOfItem(atPath: work + "/pages/" + file)[.size]
        feedBytes += (size as? NSNumber)?.intValue ?? 0
    }
    let mebibytes = Double(feedBytes) / 1_048_576
    // Decoding alone: the same pages, already in memory; and each decoder without the mapping.
    let pages = try FileManager.default.contentsOfDirectory(atPath: work + "/pages").sorted().map {
        try Data(contentsOf: URL(fileURLWithPath: work + "/pages/" + $0))
    }
    var decodeTimes: [String: [Double]] = [:]
    var decodedChanges = 0
    let parsers: [(String, (Data) throws -> Int)] = [
        ("FeedPageReader alone", { FeedPageReader.read($0)!.changes.count }),
        ("JSONDecoder alone", { try JSONDecoder().decode(FeedPageWire.self, from: $0).changes.count }),
    ]
    for _ in 0..<repetitions {
        for (path, decode) in decoders.map({ (name, decode) in (name, { try decode($0).changes.count }) }) + parsers {
            let started = clock.now
            decodedChanges = 0
            for page in pages { decodedChanges += try decode(page) }
            decodeTimes[path, default: []].append(seconds(clock.now - started))
        }
    }
    for (path, _, _) in fetches {
        let fetch = median(fetchTimes[path]!)
        print(
            "   fetch + decode, nothing stored (\(path)): \(format(fetch)) s for \(format(mebibytes, 1)) MiB of feed "
                + "JSON = \(format(mebibytes / fetch, 1)) MiB/s")
    }
    for (path, _) in decoders.map({ ($0.0, 0) }) + parsers.map({ ($0.0, 0) }) {
        let decode = median(decodeTimes[path]!)
        print(
            "   decode alone, pages in memory (\(path)): \(format(decode)) s for \(decodedChanges) changes = "
                + "\(format(mebibytes / decode, 1)) MiB/s")
    }
    let now = median(fetchTimes[fetches[0].0]!)
    let before = median(fetchTimes[fetches[3].0]!)
    print("   fetch + decode: the SDK's pull is \(format(before / now))x the speed of the path before #14")
    // The times in those pages: RFC3339's byte path against Foundation's ISO 8601 style, which
    // read every one of them before.
    let times = (0..<100_000).map { RFC3339.string(Date(timeIntervalSince1970: 1_800_000_000 + Double($0) * 0.037)) }
    let iso = Date.ISO8601FormatStyle.iso8601.year().month().day().time(includingFractionalSeconds: true)
    var parseFast: [Double] = []
    var parseFoundation: [Double] = []
    var checksum = 0.0
    for _ in 0..<repetitions {
        var started = clock.now
        for text in times { checksum += RFC3339.date(text)?.timeIntervalSince1970 ?? 0 }
        parseFast.append(seconds(clock.now - started))
        started = clock.now
        for text in times { checksum -= (try? Date(text, strategy: iso))?.timeIntervalSince1970 ?? 0 }
        parseFoundation.append(seconds(clock.now - started))
    }
    print(
        "   100k RFC 3339 times parsed: byte path \(format(median(parseFast) * 1e3, 1)) ms, Foundation "
            + "\(format(median(parseFoundation) * 1e3, 1)) ms (\(format(median(parseFoundation) / median(parseFast), 1))x; "
            + "difference \(format(checksum, 3)) s)")
    let sdkMedian = median(sdkTimes)
    let pipelineMedian = median(pipelineTimes)
    let importMedian = median(importTimes)
    print(
        "1. initial sync, medians of \(repetitions): SDK \(format(sdkMedian)) s, curl+sqlite3 \(format(pipelineMedian)) s, "
            + "ratio \(format(sdkMedian / pipelineMedian))x; SDK peak RSS \(format(median(sdkRSS), 1)) MiB "
            + "(pipeline's largest process \(format(median(pipelineRSS), 1)) MiB); sqlite3 json_each insert alone "
            + "\(format(importMedian)) s, SDK \(format(sdkMedian / importMedian))x of it")
    if !unindexedTimes.isEmpty {
        print(
            "   without the search index (same binary, alternating): \(format(median(unindexedTimes))) s; with it "
                + "\(format(median(unindexedTimes) > 0 ? sdkMedian / median(unindexedTimes) : 0, 3))x")
    }
    if !baselineTimes.isEmpty {
        let baselineMedian = median(baselineTimes)
        print(
            "   baseline SDK (\(baseline ?? "")): \(format(baselineMedian)) s, \(format(baselineMedian / importMedian))x "
                + "the sqlite3 insert, peak RSS \(format(median(baselineRSS), 1)) MiB; this build is "
                + "\(format(baselineMedian / sdkMedian))x its speed")
    }
}

// 2. Live latency and 3. outbox drain, on a fresh demo server (PG_SYNC_BENCH=initial stops
// before them).
if ProcessInfo.processInfo.environment["PG_SYNC_BENCH"] == "initial" {
    try? FileManager.default.removeItem(atPath: work)  // `exit` skips the defer above
    exit(0)
}
do {
    let server = try await ReferenceServerProcess.launch(arguments: ["--seed", "demo"])
    defer { server.stop() }
    let theo = try await PlusGuidanceClient.open(configuration(server.url, profile: work + "/live-theo"))
    _ = try await theo.signIn(email: "therapist@example.com", password: "therapist-pass")
    try await theo.syncNow()
    let proxy = try FaultInjectingProxy(upstreamPort: server.url.port!)
    defer { proxy.stop() }
    let alice = try await PlusGuidanceClient.open(configuration(proxy.url, profile: work + "/live-alice"))
    _ = try await alice.signIn(email: "alice@example.com", password: "alice-pass")
    try await alice.syncNow()
    try await theo.startLive()
    for try await status in try await theo.observeStatus() where status.phase == .live { break }

    var observed = try await theo.observeMessages(with: "usr_alice", limit: 1).makeAsyncIterator()
    var latencies: [Double] = []
    for i in 0..<1_000 {
        let started = clock.now
        let sent = try await alice.send("live \(i)", to: "usr_therapist").message?.id
        while let newest = try await observed.next() {
            if newest.first?.id == sent { break }
        }
        latencies.append(seconds(clock.now - started) * 1_000)
    }
    print(
        "2. live latency, send to observable in the other cache, 1,000 messages: p50 \(format(percentile(latencies, 0.5))) ms, "
            + "p99 \(format(percentile(latencies, 0.99))) ms, max \(format(latencies.max() ?? 0)) ms")
    await theo.stopLive()

    let queued = messageCount >= 100_000 ? 10_000 : messageCount / 10
    proxy.refuseConnections(true)
    let enqueueing = clock.now
    for i in 0..<queued { _ = try await alice.send("queued \(i)", to: "usr_therapist") }
    let enqueueSeconds = seconds(clock.now - enqueueing)
    proxy.refuseConnections(false)
    let draining = clock.now
    try await alice.syncNow()
    let drainSeconds = seconds(clock.now - draining)
    let left = try await alice.outbox().count

    let (raw, _) = try await signIn(server.url, "alice", http: http)
    let pair = CareRelation(therapistID: "usr_therapist", clientID: "usr_alice")
    let rawCount = queued / 5
    let rawStarted = clock.now
    for i in 0..<rawCount {
        let message = try Message.text(
            id: MessageID("raw\(i)"), from: "usr_alice", to: "usr_therapist", within: pair, body: "raw \(i)", at: Date()
        )
        _ = try await raw.send(message, idempotencyKey: IdempotencyKey("raw-\(i)"))
    }
    let rawRate = Double(rawCount) / seconds(clock.now - rawStarted)
    let drainRate = Double(queued) / drainSeconds
    print(
        "3. outbox: \(queued) messages queued offline at \(format(Double(queued) / enqueueSeconds, 0))/s (each durable); "
            + "drained at \(format(drainRate, 0)) msg/s (\(left) left), serial API sends without the outbox "
            + "\(format(rawRate, 0)) msg/s: \(format(drainRate / rawRate))x")
    await alice.close()
}
