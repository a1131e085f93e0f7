import CSQLiteOptions
import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Opens one SQLite file of an account the same way every time: private permissions before
/// SQLite touches the file, WAL mode, a busy timeout for the other processes sharing the profile,
/// migrations, and a refusal to touch a database written by a newer version.
struct DatabaseOpener {
    enum Durability {
        /// `synchronous=NORMAL`: in WAL mode a power loss may roll back the last transactions,
        /// never corrupt the file (sqlite.org/pragma.html#pragma_synchronous). Right for the
        /// cache, which the server can always refill.
        case normal
        /// `synchronous=FULL`: a transaction is on disk when its commit returns. Needed for the
        /// outbox, whose rows are the only copy of what the user did offline.
        case full
    }

    var path: String
    var migrator: DatabaseMigrator
    var durability: Durability
    /// How long a write waits for another process's write lock before failing.
    var busyTimeout: TimeInterval = 10
    /// The writer connection's page cache, in KiB; `nil` keeps SQLite's default (2,000 pages).
    var writerCacheKiB: Int?
    /// WAL pages at which a checkpoint runs on a thread beside the writer (``WALCheckpointer``)
    /// instead of in the writer's commit; `nil` keeps SQLite's automatic checkpoint at its
    /// default (1,000 pages). The WAL file is truncated back to this size after a checkpoint.
    var walAutocheckpointPages: Int?
    /// The checkpointer to install (its limit is `walAutocheckpointPages`), for a store that
    /// also asks it for checkpoints of its own (``WALCheckpointer/truncate()``); one is made
    /// when `nil`.
    var walCheckpointer: WALCheckpointer?
    /// Zero deleted content on the writer (`PRAGMA secure_delete`): for files whose deleted
    /// rows are health data that must not linger in free pages.
    var secureDelete = false
    /// The observer that bumps this file's change markers after each commit (``ChangeMarker``);
    /// one is made when `nil`. A store that writes some rows past GRDB passes its own and tells
    /// it of those tables (``ChangeMarker/noteChange(in:)``).
    var changeMarker: ChangeMarker?

    /// Opens (creating when missing) and migrates the database.
    /// - Throws: ``PersistenceError/newerSchema(path:)``, or the GRDB error of a file that is
    ///   not a database or is corrupt (see ``isCorruption(_:)``).
    func open() throws -> DatabasePool {
        // One process at a time opens, migrates and, for a file from before encryption,
        // rewrites the database; the others wait here, then open the rewritten file.
        let lock = try EngineLock.blocking(path: path + "-open.lock")
        defer { withExtendedLifetime(lock) {} }
        recoverInterruptedRewrite()
        let pool = try openAndMigrate()
        guard try pool.read({ try $0.tableExists(Self.rewriteMarker) }) else { return pool }
        try rewrite(pool)
        return try openAndMigrate()
    }

    /// Opens the database for reading only, as one read-only connection (no writer, no reader
    /// pool, no WAL set-up, no migration, no change marker): what a process that only reads
    /// needs. `nil` when the file needs more than reading first (it is missing, an interrupted
    /// rewrite is to be recovered, a migration is due or a rewrite is pending): ``open()`` does
    /// that work.
    /// - Throws: ``PersistenceError/newerSchema(path:)``, or the GRDB error of a file that is not
    ///   a database.
    func openForReading() throws -> DatabaseQueue? {
        let exists = { FileManager.default.fileExists(atPath: $0) }
        guard exists(path), !exists(sealedCopy), !exists(plaintextAside), !exists(rewriteCopy) else { return nil }
        // The lock: a process rewriting the file (a plaintext profile's first open) finishes first.
        let lock = try EngineLock.blocking(path: path + "-open.lock")
        defer { withExtendedLifetime(lock) {} }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeout)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        let (superseded, completed, rewritePending) = try queue.read {
            (
                try migrator.hasBeenSuperseded($0), try migrator.hasCompletedMigrations($0),
                try $0.tableExists(Self.rewriteMarker)
            )
        }
        if superseded { throw PersistenceError.newerSchema(path: path) }
        guard completed, !rewritePending else {
            try? queue.close()
            return nil
        }
        return queue
    }

    private func openAndMigrate() throws -> DatabasePool {
        try SecureFiles.makeFile(path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.maximumReaderCount = 4
        // A command opens and closes the databases every time: closing no longer checkpoints
        // (two syncs) and deletes the WAL, which the next open would re-create with a write and
        // two more syncs (GRDB makes sure a WAL exists). What is in the WAL is as durable as
        // the database; the next writer's checkpoints carry it over.
        configuration.prepareDatabase { db in
            let code = csqlite_keep_wal_on_close(db.sqliteConnection)
            guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // Only the writer's setting matters, and it must be set after the pool exists: GRDB's
        // WAL set-up (`Database.setUpWALMode`) runs after `prepareDatabase` and sets NORMAL.
        let synchronous = durability == .full ? "FULL" : "NORMAL"
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            if secureDelete { try db.execute(sql: "PRAGMA secure_delete = ON") }
            if let writerCacheKiB { try db.execute(sql: "PRAGMA cache_size = -\(writerCacheKiB)") }
            if let walAutocheckpointPages {
                // Replaces SQLite's automatic checkpoint (the WAL hook is the writer's only one).
                let checkpointer = walCheckpointer ?? WALCheckpointer(path: path, limit: walAutocheckpointPages)
                checkpointer.install(on: db)
                db.add(transactionObserver: checkpointer, extent: .databaseLifetime)
                try db.execute(sql: "PRAGMA journal_size_limit = \(walAutocheckpointPages * 4_096)")
            }
        }
        let (superseded, completed) = try pool.read {
            (try migrator.hasBeenSuperseded($0), try migrator.hasCompletedMigrations($0))
        }
        if superseded { throw PersistenceError.newerSchema(path: path) }
        // Migrating takes the write lock and commits (with a sync of the WAL and of the folder
        // at FULL durability) even when there is nothing to do: skipped when nothing is.
        if !completed { try migrator.migrate(pool) }
        // Every commit of this pool tells the observations of every process (ChangeNotifier).
        pool.add(transactionObserver: try changeMarker ?? ChangeMarker(databasePath: path), extent: .databaseLifetime)
        try SecureFiles.restrictFiles(in: (path as NSString).deletingLastPathComponent)
        return pool
    }

    /// The table a migration creates when it sealed existing rows in place: the file still holds
    /// their plaintext in free pages and in its WAL, so ``open()`` copies it whole into a new
    /// file (`VACUUM INTO`, which writes live rows only) and shreds the old one.
    static let rewriteMarker = "pendingRewrite"

    /// Seals `column` of every row of `table` in place (inside a migration), and marks the file
    /// for a rewrite when there was any row: a plaintext profile becoming an encrypted one.
    /// The sealed values are bound to `associatedTable` (default `table`) and the row's key; a
    /// NULL stays NULL.
    static func sealInPlace(
        _ db: Database, table: String, key: String, column: String, associatedTable: String? = nil,
        cipher: FieldCipher
    ) throws {
        let rows = try Row.fetchAll(
            db, sql: "SELECT \(key), \(column) FROM \(table) WHERE \(column) IS NOT NULL")
        guard !rows.isEmpty else { return }
        let update = try db.makeStatement(sql: "UPDATE \(table) SET \(column) = ? WHERE \(key) = ?")
        for row in rows {
            let id: String = row[0]
            let plaintext: Data = row[1]
            try update.execute(arguments: [
                try cipher.seal(plaintext, table: associatedTable ?? table, row: id), id,
            ])
        }
        try markForRewrite(db)
    }

    /// Marks the file for a rewrite after this migration (``open()``): rows were sealed in place
    /// and their plaintext is still in free pages and the WAL.
    static func markForRewrite(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS \(rewriteMarker) (singleton INTEGER)")
    }

    private var plaintextAside: String { path + ".plaintext" }
    /// The copy while it is being made; renamed to ``sealedCopy`` once complete and durable.
    private var rewriteCopy: String { path + ".sealing" }
    private var sealedCopy: String { path + ".sealed" }

    /// Copies the database into a new file (the marker dropped there), puts the copy in place
    /// and shreds the old file and its WAL. Every step can be interrupted: see
    /// ``recoverInterruptedRewrite()``.
    private func rewrite(_ pool: DatabasePool) throws {
        for suffix in ["", "-journal", "-wal", "-shm"] { SecureFiles.shred(rewriteCopy + suffix) }
        try SecureFiles.makeFile(rewriteCopy)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM INTO ?", arguments: [rewriteCopy])
        }
        let copy = try DatabaseQueue(path: rewriteCopy)
        try copy.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TABLE \(Self.rewriteMarker)")
            try db.execute(sql: "VACUUM")
        }
        try copy.close()
        SecureFiles.sync(rewriteCopy)
        try Self.move(rewriteCopy, to: sealedCopy)
        try pool.close()
        try Self.move(path, to: plaintextAside)
        for suffix in ["-wal", "-shm"] { SecureFiles.shred(path + suffix) }
        try Self.move(sealedCopy, to: path)
        SecureFiles.shred(plaintextAside)
    }

    /// Finishes or undoes a rewrite a crash interrupted. A complete copy (``sealedCopy``) goes
    /// in place when the database is missing, and is dropped when the original is still there
    /// (the rewrite then starts again); the old file set aside comes back only when there is no
    /// complete copy, and is shredded otherwise; a half-made copy is removed.
    private func recoverInterruptedRewrite() {
        let exists = { FileManager.default.fileExists(atPath: $0) }
        if exists(sealedCopy) {
            if exists(path) && !exists(plaintextAside) {
                SecureFiles.shred(sealedCopy)
            } else if !exists(path) {
                rename(sealedCopy, path)
            }
        }
        if exists(plaintextAside) {
            if exists(path) {
                for suffix in ["", "-wal", "-shm"] { SecureFiles.shred(plaintextAside + suffix) }
            } else {
                rename(plaintextAside, path)
            }
        }
        for suffix in ["", "-journal", "-wal", "-shm"] where exists(rewriteCopy + suffix) {
            SecureFiles.shred(rewriteCopy + suffix)
        }
    }

    private static func move(_ from: String, to destination: String) throws {
        guard rename(from, destination) == 0 else {
            throw PersistenceError.fileAccess(path: from, errno: errno)
        }
        SecureFiles.syncFolder(of: destination)
    }

    /// Runs `PRAGMA quick_check` and returns `nil` when the file is sound, or what SQLite reported.
    static func quickCheck(_ reader: some DatabaseReader) -> String? {
        do {
            let report = try reader.read { try String.fetchAll($0, sql: "PRAGMA quick_check") }
            return report == ["ok"] ? nil : report.prefix(3).joined(separator: "; ")
        } catch {
            return "quick_check failed: \(error)"
        }
    }

    /// Whether `error` means the file is not a usable SQLite database.
    static func isCorruption(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB
    }
}

extension DatabaseReader {
    /// Runs a read on the calling thread, in a transaction of its own.
    ///
    /// Every read of the stores is short (an indexed query and its decoding: 0.07 ms for the
    /// upcoming sessions, 0.25 ms for a conversation's latest 50 messages at a million cached
    /// messages). GRDB's `async` read runs it on the reader's dispatch queue and resumes the task
    /// afterwards: two thread wake-ups that cost more than the read itself (p50 0.27 against 0.07
    /// ms here, `persistence-benchmark`). A synchronous read runs on the caller's thread
    /// (`dispatch_sync` onto an idle serial queue does not switch threads), holding it for the
    /// read's own duration only: WAL readers never wait for the writer, and a reader is only
    /// waited for while every connection of the pool reads. Writes, which can wait for a lock and
    /// an fsync, stay `async` on the writer's queue.
    func readHere<T>(_ value: (Database) throws -> T) throws -> T {
        try read(value)
    }
}
