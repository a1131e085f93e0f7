// Persistence benchmark (issue "Persistence"): run with
//
//     swift run -c release persistence-benchmark [messages] [conversations] [sessions]
//
// Defaults: 1,000,000 messages over 1,000 conversations, 10,000 sessions (1% not ended).
// Prints ingest rates side by side with the sqlite3 CLI importing the same rows into the same
// schema, query latencies (p50/p99), cold open to first query, and database size. No figure is
// asserted: the machine is noisy; compare the ratios.
import Foundation
import GRDB
import GRDBSQLite
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting

let arguments = CommandLine.arguments.dropFirst().compactMap(Int.init)
let messageCount = arguments.count > 0 ? arguments[0] : 1_000_000
let conversationCount = arguments.count > 1 ? arguments[1] : 1_000
let sessionCount = arguments.count > 2 ? arguments[2] : 10_000
let pageSize = 500

let history = SyntheticHistory(conversations: conversationCount)
let therapist = history.therapist
let relations = history.relations
let epoch = history.epoch
func message(_ i: Int) -> Message { history.message(i) }

func session(_ i: Int) -> Session {
    let relation = relations[i % conversationCount]
    let ended = i % 100 != 0
    let start = epoch + Double(i) * 600
    return Session(
        id: SessionID(String(format: "ses_%08d", i)), offerID: OfferID(String(format: "off_%08d", i)),
        therapistID: therapist, clientID: relation.clientID, type: .video, startsAt: start, durationMinutes: 50,
        endedAt: ended ? start + 3_000 : nil, endedBy: ended ? therapist : nil)
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}

let clock = ContinuousClock()
let work = FileManager.default.temporaryDirectory.path + "/pg-persistence-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }
let keys = FileKeyProvider(path: work + "/key")
print(
    "PlusGuidanceKit persistence benchmark: \(messageCount) messages, \(conversationCount) conversations, \(sessionCount) sessions, pages of \(pageSize)"
)

// 1. Ingest through the store, as the sync engine does: feed pages of 500 changes applied with
//    their cursor. Live sync commits every page; an initial sync commits 4 pages at a time
//    (`apply(_ pages:)`), which is still atomic with the last cursor.
func ingest(account: String, pagesPerCommit: Int) async throws -> (rate: Double, storage: AccountStorage) {
    let storage = try AccountStorage(profile: work + "/profile", account: account, keys: keys)
    var elapsed = Duration.zero
    var batch: [ChangePage] = []
    var page: [Change] = []
    func commit() async throws {
        let pages = batch
        let started = clock.now
        try await storage.cache.apply(pages)
        elapsed += clock.now - started
        batch.removeAll(keepingCapacity: true)
    }
    let total = messageCount + sessionCount
    for i in 0..<total {
        page.append(i < messageCount ? .message(message(i)) : .session(session(i - messageCount)))
        if page.count == pageSize || i == total - 1 {
            batch.append(ChangePage(changes: page, cursor: FeedCursor("c\(i)"), hasMore: i < total - 1))
            page.removeAll(keepingCapacity: true)
            if batch.count == pagesPerCommit || i == total - 1 { try await commit() }
        }
    }
    // The cache's checkpointer may be copying at this moment (SQLITE_BUSY): wait for it.
    while true {
        do {
            _ = try await storage.cache.database.writeWithoutTransaction { try $0.checkpoint(.truncate) }
            break
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            try await Task.sleep(for: .milliseconds(10))
        }
    }
    return (Double(total) / Statistics.seconds(elapsed), storage)
}
// PG_BENCH_QUERIES=1: only the initial-sync ingest, then the queries (no live-ingest or sqlite3
// import comparison).
let queriesOnly = ProcessInfo.processInfo.environment["PG_BENCH_QUERIES"] != nil
let live = queriesOnly ? nil : try await ingest(account: "live", pagesPerCommit: 1)
try live?.storage.wipe()
let initial = try await ingest(account: "bench", pagesPerCommit: 4)
var storage: AccountStorage? = initial.storage
let cache = initial.storage.cache
if ProcessInfo.processInfo.environment["PG_BENCH_INGEST_ONLY"] != nil {
    print(String(format: "ingest: live %.0f rows/s, initial sync %.0f rows/s", live?.rate ?? 0.0, initial.rate))
    exit(0)
}

var cliRate = 0.0
if !queriesOnly {
    // 2. The same message rows imported by the sqlite3 CLI into the same table and index.
    let csvPath = work + "/messages.csv"
    _ = FileManager.default.createFile(atPath: csvPath, contents: nil)
    let csv = try FileHandle(forWritingTo: URL(fileURLWithPath: csvPath))
    var buffer = ""
    for i in 0..<messageCount {
        let m = message(i)
        buffer +=
            "\(m.id),\(m.conversationID),\(m.senderID),\(m.recipientID),text,\"\(m.body)\",\(m.createdAt.timeIntervalSinceReferenceDate),,,sent\n"
        if buffer.utf8.count > 1 << 20 {
            csv.write(Data(buffer.utf8))
            buffer = ""
        }
    }
    csv.write(Data(buffer.utf8))
    try csv.close()
    let script = """
        PRAGMA journal_mode=WAL;
        PRAGMA synchronous=NORMAL;
        CREATE TABLE message (id TEXT PRIMARY KEY, conversationID TEXT NOT NULL, senderID TEXT NOT NULL, recipientID TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, createdAt REAL NOT NULL, offerID TEXT, sessionID TEXT, deliveryState TEXT NOT NULL);
        CREATE INDEX message_by_conversation ON message (conversationID, createdAt, id);
        .mode csv
        .import \(csvPath) message

        """
    let sqlite3 = Process()
    sqlite3.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    sqlite3.arguments = ["sqlite3", work + "/cli.sqlite"]
    let input = Pipe()
    sqlite3.standardInput = input
    sqlite3.standardOutput = FileHandle.nullDevice
    let cliStarted = clock.now
    try sqlite3.run()
    input.fileHandleForWriting.write(Data(script.utf8))
    try input.fileHandleForWriting.close()
    sqlite3.waitUntilExit()
    let cliSeconds = Statistics.seconds(clock.now - cliStarted)
    let cliRows =
        try DatabaseQueue(path: work + "/cli.sqlite").read { try Int.fetchOne($0, sql: "SELECT count(*) FROM message") }
        ?? 0
    cliRate = Double(cliRows) / cliSeconds

}

// 3. Query latencies through the public async API, called from a task on the concurrency
//    pool as the SDK's own engine and observations call it (not from the main actor, which
//    would add its own hop to every call).
let conversations = relations.map(\.conversationID)
let expectedLatest = min(50, messageCount / conversationCount)
let expectedUpcoming = (sessionCount + 99) / 100
let (latest, upcoming) = try await Task.detached { () async throws -> ([Double], [Double]) in
    var latest: [Double] = []
    for i in 0..<10_000 {
        let started = clock.now
        let rows = try await cache.messages(
            in: conversations[(i * 7_919) % conversations.count], limit: 50, before: nil)
        latest.append(Statistics.seconds(clock.now - started) * 1_000)
        precondition(rows.count == expectedLatest)
    }
    var upcoming: [Double] = []
    for _ in 0..<10_000 {
        let started = clock.now
        let rows = try await cache.upcomingSessions(at: Date())
        upcoming.append(Statistics.seconds(clock.now - started) * 1_000)
        precondition(rows.count == expectedUpcoming)
    }
    return (latest.sorted(), upcoming.sorted())
}.value
// The same calls made from the main actor: each call then also hops to the pool and back.
var fromMain: [Double] = []
for i in 0..<2_000 {
    let started = clock.now
    _ = try await cache.messages(in: conversations[(i * 7_919) % conversationCount], limit: 50, before: nil)
    fromMain.append(Statistics.seconds(clock.now - started) * 1_000)
}
fromMain.sort()

// 3b. The floor: the same two statements stepped through SQLite's C API on one of the store's
//     own connections, every column read (`sqlite3_column_*`), nothing decoded or copied, no
//     thread hop. What SQLite itself costs; the store's figures above are compared with it.
func floorLatencies(_ sql: String, _ bind: @escaping @Sendable (OpaquePointer, Int) -> Void) async throws -> [Double] {
    try await cache.database.read { db in
        var statement: OpaquePointer?
        guard
            sqlite3_prepare_v3(db.sqliteConnection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
                == SQLITE_OK, let statement
        else { fatalError("prepare: \(sql)") }
        defer { sqlite3_finalize(statement) }
        var latencies: [Double] = []
        var sink = 0
        for i in 0..<10_000 {
            let started = clock.now
            sqlite3_reset(statement)
            bind(statement, i)
            while sqlite3_step(statement) == SQLITE_ROW {
                for column in 0..<sqlite3_column_count(statement) {
                    switch sqlite3_column_type(statement, column) {
                    case SQLITE_TEXT: sink &+= Int(bitPattern: sqlite3_column_text(statement, column))
                    case SQLITE_BLOB: sink &+= Int(bitPattern: sqlite3_column_blob(statement, column))
                    default: sink &+= Int(sqlite3_column_double(statement, column))
                    }
                    sink &+= Int(sqlite3_column_bytes(statement, column))
                }
            }
            latencies.append(Statistics.seconds(clock.now - started) * 1_000)
        }
        precondition(sink != 42)
        return latencies.sorted()
    }
}
// 3c. The store's own decoding without the hop to a reader and back: the same queries inside
//     one read, each timed alone.
let decoded = try cache.database.read { db in
    let cipher = cache.cipher
    var latest: [Double] = []
    var upcoming: [Double] = []
    for i in 0..<10_000 {
        let started = clock.now
        _ = try SQLiteCacheStore.messages(
            in: conversations[(i * 7_919) % conversationCount], limit: 50, before: nil, db: db, cipher)
        latest.append(Statistics.seconds(clock.now - started) * 1_000)
    }
    for _ in 0..<10_000 {
        let started = clock.now
        _ = try SQLiteCacheStore.upcomingSessions(db, cache.cipher)
        upcoming.append(Statistics.seconds(clock.now - started) * 1_000)
    }
    return (latest: latest.sorted(), upcoming: upcoming.sorted())
}
let conversationKeys = conversations.map(\.rawValue)
let conversationTotal = conversationCount
let latestFloor = try await floorLatencies(
    "SELECT id, conversationID, senderID, recipientID, kind, body, createdAt, offerID, sessionID, deliveryState FROM message WHERE conversationID = ? ORDER BY createdAt DESC, id DESC LIMIT 50"
) { statement, i in
    let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    sqlite3_bind_text(statement, 1, conversationKeys[(i * 7_919) % conversationTotal], -1, transient)
}
let upcomingFloor = try await floorLatencies(
    "SELECT id, offerID, therapistID, clientID, type, startsAt, durationMinutes, endedAt, endedBy FROM session WHERE endedAt IS NULL ORDER BY startsAt, id"
) { _, _ in }

// 4. Cold open (integrity check and migrations included) to the first query.
storage = nil
var opens: [Double] = []
for _ in 0..<5 {
    let started = clock.now
    let reopened = try AccountStorage(profile: work + "/profile", account: "bench", keys: keys)
    _ = try await reopened.cache.messages(in: conversations[0], limit: 50, before: nil)
    opens.append(Statistics.seconds(clock.now - started) * 1_000)
}
opens.sort()

// 5. Quick check alone, for the record.
let folder = AccountStorage.folder(profile: work + "/profile", account: "bench")
let quickCheckStarted = clock.now
_ = try DatabaseQueue(path: folder + "/cache.sqlite").read { try String.fetchAll($0, sql: "PRAGMA quick_check") }
let quickCheck = Statistics.seconds(clock.now - quickCheckStarted) * 1_000

let size = fileSize(folder + "/cache.sqlite")
let cliSize = fileSize(work + "/cli.sqlite")
print(String(format: "ingest, sqlite3 .import, one transaction:   %9.0f rows/s", cliRate))
print(
    String(
        format: "ingest, store, 1 page (%d) per commit:     %9.0f rows/s   store/sqlite3 = %.2f", pageSize,
        live?.rate ?? 0, (live?.rate ?? 0) / cliRate))
print(
    String(
        format: "ingest, store, 4 pages per commit:         %9.0f rows/s   store/sqlite3 = %.2f", initial.rate,
        initial.rate / cliRate))
print(
    String(
        format:
            "latest 50 messages:  p50 %.3f ms  p99 %.3f ms   decoding alone p50 %.3f  p99 %.3f   sqlite3 floor p50 %.3f ms  p99 %.3f ms",
        Statistics.percentile(latest, 0.5), Statistics.percentile(latest, 0.99),
        Statistics.percentile(decoded.latest, 0.5),
        Statistics.percentile(decoded.latest, 0.99), Statistics.percentile(latestFloor, 0.5),
        Statistics.percentile(latestFloor, 0.99)))
print(
    String(
        format: "latest 50 messages, called from the main actor: p50 %.3f ms  p99 %.3f ms (2,000 calls)",
        Statistics.percentile(fromMain, 0.5), Statistics.percentile(fromMain, 0.99)))
print(
    String(
        format:
            "upcoming sessions:   p50 %.3f ms  p99 %.3f ms   decoding alone p50 %.3f  p99 %.3f   sqlite3 floor p50 %.3f ms  p99 %.3f ms  (%d of %d not ended)",
        Statistics.percentile(upcoming, 0.5), Statistics.percentile(upcoming, 0.99),
        Statistics.percentile(decoded.upcoming, 0.5),
        Statistics.percentile(decoded.upcoming, 0.99), Statistics.percentile(upcomingFloor, 0.5),
        Statistics.percentile(upcomingFloor, 0.99), (sessionCount + 99) / 100, sessionCount))
print(
    String(
        format:
            "cold open to first query: median %.1f ms (5 runs; quick_check runs in the background, alone it takes %.1f ms)",
        Statistics.percentile(opens, 0.5), quickCheck))
print(
    String(
        format: "database size: %.1f MB per 100k messages (sqlite3 import of messages only: %.1f MB per 100k)",
        Double(size) / Double(messageCount) * 100_000 / 1e6, Double(cliSize) / Double(messageCount) * 100_000 / 1e6))
