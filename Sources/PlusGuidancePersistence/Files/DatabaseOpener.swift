import Foundation
import GRDB

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
    /// WAL pages between automatic checkpoints; `nil` keeps SQLite's default (1,000). The WAL
    /// file is truncated back to this size after a checkpoint.
    var walAutocheckpointPages: Int?
    /// Zero deleted content on the writer (`PRAGMA secure_delete`): for files whose deleted
    /// rows are health data that must not linger in free pages.
    var secureDelete = false

    /// Opens (creating when missing) and migrates the database.
    /// - Throws: ``PersistenceError/newerSchema(path:)``, or the GRDB error of a file that is
    ///   not a database or is corrupt (see ``isCorruption(_:)``).
    func open() throws -> DatabasePool {
        try SecureFiles.makeFile(path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.maximumReaderCount = 4
        let pool = try DatabasePool(path: path, configuration: configuration)
        // Only the writer's setting matters, and it must be set after the pool exists: GRDB's
        // WAL set-up (`Database.setUpWALMode`) runs after `prepareDatabase` and sets NORMAL.
        let synchronous = durability == .full ? "FULL" : "NORMAL"
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            if secureDelete { try db.execute(sql: "PRAGMA secure_delete = ON") }
            if let writerCacheKiB { try db.execute(sql: "PRAGMA cache_size = -\(writerCacheKiB)") }
            if let walAutocheckpointPages {
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(walAutocheckpointPages)")
                try db.execute(sql: "PRAGMA journal_size_limit = \(walAutocheckpointPages * 4_096)")
            }
        }
        if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
            throw PersistenceError.newerSchema(path: path)
        }
        try migrator.migrate(pool)
        // Every commit of this pool tells the observations of every process (ChangeNotifier).
        pool.add(transactionObserver: try ChangeMarker(databasePath: path), extent: .databaseLifetime)
        try SecureFiles.restrictFiles(in: (path as NSString).deletingLastPathComponent)
        return pool
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
