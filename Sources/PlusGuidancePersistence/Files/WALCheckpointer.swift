import CSQLiteOptions
import Foundation
import GRDB
import GRDBSQLite

/// Checkpoints a database's WAL on a thread of its own, beside the writer, instead of inside
/// the writer's commit.
///
/// SQLite's automatic checkpoint runs in the commit that takes the WAL past its limit: the
/// writer stops and copies the whole WAL into the database file (reading every frame back,
/// writing every page, syncing both files). In a first sync of a million messages that was a
/// fifth of the writer's time (perf, Benchmarks/PersistenceBenchmark), while the machine's
/// other core had little to do. Here the writer's WAL hook (`sqlite3_wal_hook`, which replaces
/// the automatic checkpoint) only tells this checkpointer, whose own connection runs a PASSIVE
/// checkpoint: it copies what no reader still needs, never waits for a lock and never blocks
/// the writer, which goes on appending. Once a checkpoint has copied everything, the writer's
/// next transaction starts the WAL from its beginning again, as after an automatic checkpoint,
/// and `journal_size_limit` truncates the file back.
///
/// Should the checkpointer fall behind (the writer commits faster than it copies, or a reader
/// keeps old frames), the writer waits for it at four times the limit and checkpoints the rest
/// in its commit, as SQLite would have at once: the WAL stays as bounded as with SQLite's own
/// checkpoint (which also gives up while another process checkpoints, and tries again at the
/// next commit).
final class WALCheckpointer: @unchecked Sendable {
    // @unchecked: `scheduled` is only touched under `lock`; the rest is immutable.
    let path: String
    private let limit: Int32
    private let queue = DispatchQueue(label: "PlusGuidancePersistence.WALCheckpointer", qos: .utility)
    private let lock = NSLock()
    private var scheduled = false

    /// Checkpoints `path` once its WAL holds `limit` frames (pages) or more.
    init(path: String, limit: Int) {
        self.path = path
        self.limit = Int32(clamping: limit)
    }

    /// Makes `db` (the writer's connection) hand its checkpoints to this checkpointer. The
    /// writer's database must keep the checkpointer alive as long as the connection is open.
    func install(on db: Database) {
        sqlite3_wal_hook(
            db.sqliteConnection,
            { context, connection, _, frames in
                Unmanaged<WALCheckpointer>.fromOpaque(context!).takeUnretainedValue().committed(
                    frames: frames, on: connection!)
            }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// After each commit of the writer, with the number of frames now in the WAL.
    private func committed(frames: Int32, on writer: OpaquePointer) -> Int32 {
        if frames >= limit.multipliedReportingOverflow(by: 4).partialValue {
            // Fallen behind: the writer waits for a checkpoint of this process under way (its
            // lock would make the writer's own fail at once), then copies the rest itself, as
            // the automatic checkpoint did. The commit is complete and its locks released: the
            // checkpointer, which never waits for a lock, cannot be waiting for the writer.
            queue.sync {}
            _ = sqlite3_wal_checkpoint_v2(writer, "main", SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        } else if frames >= limit {
            schedule()
        }
        return SQLITE_OK
    }

    /// How many times a checkpoint that could not copy the whole WAL is tried again, and how
    /// long after: a reader holding an old snapshot, or another process checkpointing, is done
    /// within milliseconds, and the writer may not commit again for a long while.
    static let retries = 40
    static let retryDelay: DispatchTimeInterval = .milliseconds(25)

    private func schedule(retry: Int = 0) {
        let first = lock.withLock {
            defer { scheduled = true }
            return !scheduled
        }
        guard first else { return }
        let work: @Sendable () -> Void = { [self] in
            lock.withLock { scheduled = false }
            if !checkpoint(), retry < Self.retries { schedule(retry: retry + 1) }
        }
        if retry == 0 {
            queue.async(execute: work)
        } else {
            queue.asyncAfter(deadline: .now() + Self.retryDelay, execute: work)
        }
    }

    /// Copies the whole WAL into the database and truncates it to nothing, after any checkpoint
    /// of this checkpointer under way (on its queue, so the two never meet: SQLite refuses a
    /// second checkpoint at once instead of waiting for it). Waits 200 ms at most for another
    /// process's writer or a reader of an older snapshot. Returns whether the WAL is empty.
    func truncate() -> Bool {
        queue.sync { checkpoint(mode: SQLITE_CHECKPOINT_TRUNCATE, busyTimeout: 200) }
    }

    /// A PASSIVE checkpoint on a connection of its own, opened for it and closed after: a
    /// checkpoint comes once per `limit` pages written, and no descriptor outlives it (a
    /// wiped cache's files are gone once its last checkpoint ends). Returns whether it copied
    /// the whole WAL; what it could not (another process is checkpointing, a reader still
    /// needs old frames, the file is gone) is tried again shortly, by the next commit, or by
    /// the writer at four times the limit.
    private func checkpoint(mode: Int32 = SQLITE_CHECKPOINT_PASSIVE, busyTimeout: Int32 = 1_000) -> Bool {
        var connection: OpaquePointer?
        defer { sqlite3_close_v2(connection) }
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK
        else { return false }
        // Closing must not checkpoint and delete the WAL the writer is using (the writer's own
        // connections are set the same way, DatabaseOpener).
        guard csqlite_keep_wal_on_close(connection) == SQLITE_OK else { return false }
        // A connection learns that the file is in WAL mode when it first reads it; until then
        // a checkpoint does nothing (and reports -1 frames). The read waits out a writer's
        // moment of exclusive access (recovery) rather than fail.
        sqlite3_busy_timeout(connection, busyTimeout)
        guard sqlite3_exec(connection, "SELECT 1 FROM sqlite_master LIMIT 1", nil, nil, nil) == SQLITE_OK else {
            return false
        }
        var frames: Int32 = 0
        var copied: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(connection, "main", mode, &frames, &copied)
        return code == SQLITE_OK && copied == frames
    }
}

// The writer's pool keeps its observers as long as it lives (`.databaseLifetime`): that is how
// the checkpointer outlives the connection whose hook points at it. It observes nothing.
extension WALCheckpointer: TransactionObserver {
    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) {}
    func databaseDidRollback(_ db: Database) {}
}
