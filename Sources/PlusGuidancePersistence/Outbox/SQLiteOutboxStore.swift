import Foundation
import GRDB
import PlusGuidanceDomain

/// The ``PlusGuidanceDomain/OutboxStore`` of one account, in its own SQLite file next to the cache.
///
/// The outbox is kept apart from the cache so that a cache found corrupt can be moved aside and
/// rebuilt from the server without touching what the user did offline. Every commit is durable
/// when it returns (`synchronous=FULL`), so an action the app reported as queued survives a
/// power loss.
public final class SQLiteOutboxStore: OutboxStore {
    public let database: DatabasePool

    /// Opens (creating and migrating as needed) the outbox at `path`.
    /// - Throws: ``PersistenceError/newerSchema(path:)``, or a GRDB error for a file that is not
    ///   a SQLite database.
    public init(path: String) throws {
        database = try DatabaseOpener(path: path, migrator: Self.migrator, durability: .full).open()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("0001-initial") { db in
            // AUTOINCREMENT: a sequence number is never reused, even after its entry is removed,
            // so a re-enqueued key always goes to the end.
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        key TEXT NOT NULL UNIQUE,
                        action BLOB NOT NULL,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL,
                        lastErrorCode TEXT, lastErrorReason TEXT,
                        enqueuedAt REAL NOT NULL,
                        notBefore REAL);
                    """)
        }
        return migrator
    }

    private static let columns =
        "sequence, key, action, state, attempts, lastErrorCode, lastErrorReason, enqueuedAt, notBefore"

    static func entry(_ row: Row) throws -> OutboxEntry {
        let action: OutboxAction
        do {
            action = try JSONDecoder().decode(OutboxAction.self, from: row[2] as Data)
        } catch {
            throw PersistenceError.undecodable("outbox", column: "action")
        }
        let code: String? = row[5]
        return OutboxEntry(
            id: IdempotencyKey(rawValue: row[1]), action: action,
            enqueuedAt: Date(timeIntervalSinceReferenceDate: row[7]),
            state: try CacheRows.decode(OutboxEntry.State.self, row[3], table: "outbox", column: "state"),
            attempts: row[4], lastError: code.map { OutboxFailure(code: $0, reason: row[6] ?? "") },
            notBefore: CacheRows.date(row[8]), sequence: row[0])
    }

    public func enqueue(_ entry: OutboxEntry) async throws -> OutboxEntry {
        let action = try JSONEncoder().encode(entry.action)
        return try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO outbox (key, action, state, attempts, lastErrorCode, lastErrorReason, enqueuedAt, notBefore)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING
                    """,
                arguments: [
                    entry.id.rawValue, action, entry.state.rawValue, entry.attempts, entry.lastError?.code,
                    entry.lastError?.reason, entry.enqueuedAt.timeIntervalSinceReferenceDate,
                    entry.notBefore?.timeIntervalSinceReferenceDate,
                ])
            guard let stored = try Self.entry(entry.id, db) else { throw PersistenceError.closed }
            return stored
        }
    }

    static func entry(_ key: IdempotencyKey, _ db: Database) throws -> OutboxEntry? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM outbox WHERE key = ?", arguments: [key.rawValue]).map(entry)
    }

    static func entries(_ db: Database) throws -> [OutboxEntry] {
        try Row.fetchAll(db, sql: "SELECT \(columns) FROM outbox ORDER BY sequence").map(entry)
    }

    public func entries() async throws -> [OutboxEntry] {
        try await database.read(Self.entries)
    }

    public func entry(_ key: IdempotencyKey) async throws -> OutboxEntry? {
        try await database.read { db in try Self.entry(key, db) }
    }

    public func update(_ entry: OutboxEntry) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE outbox SET state = ?, attempts = ?, lastErrorCode = ?, lastErrorReason = ?, notBefore = ?
                    WHERE key = ?
                    """,
                arguments: [
                    entry.state.rawValue, entry.attempts, entry.lastError?.code, entry.lastError?.reason,
                    entry.notBefore?.timeIntervalSinceReferenceDate, entry.id.rawValue,
                ])
            guard db.changesCount == 1 else { throw DomainError.notFound }
        }
    }

    public func remove(_ key: IdempotencyKey) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM outbox WHERE key = ?", arguments: [key.rawValue])
        }
    }
}
