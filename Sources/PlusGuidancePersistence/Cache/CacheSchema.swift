import GRDB

/// Times are stored as REAL seconds since 2001-01-01 UTC (`Date.timeIntervalSinceReferenceDate`),
/// the representation `Date` itself uses, so every value round-trips exactly.
///
/// The cache's numbered migrations. Each runs in its own transaction; a database that has a
/// migration this list does not know was written by a newer version and is refused.
enum CacheSchema {
    static func migrator(_ cipher: FieldCipher) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("0001-initial") { db in
            try db.execute(
                sql: """
                    CREATE TABLE account (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        id TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL);
                    CREATE TABLE user (
                        id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL);
                    CREATE TABLE presence (
                        userID TEXT PRIMARY KEY, online INTEGER NOT NULL, lastSeenAt REAL);
                    CREATE TABLE message (
                        id TEXT PRIMARY KEY,
                        conversationID TEXT NOT NULL, senderID TEXT NOT NULL, recipientID TEXT NOT NULL,
                        kind TEXT NOT NULL, body TEXT NOT NULL, createdAt REAL NOT NULL,
                        offerID TEXT, sessionID TEXT, deliveryState TEXT NOT NULL);
                    CREATE INDEX message_by_conversation ON message (conversationID, createdAt, id);
                    CREATE TABLE offer (
                        id TEXT PRIMARY KEY, therapistID TEXT NOT NULL, clientID TEXT NOT NULL,
                        type TEXT NOT NULL, startsAt REAL, durationMinutes INTEGER NOT NULL,
                        requiresConfirmation INTEGER NOT NULL, state TEXT NOT NULL,
                        createdAt REAL NOT NULL, expiresAt REAL NOT NULL, closedAt REAL, sessionID TEXT);
                    CREATE INDEX offer_by_creation ON offer (createdAt, id);
                    CREATE TABLE session (
                        id TEXT PRIMARY KEY, offerID TEXT NOT NULL, therapistID TEXT NOT NULL,
                        clientID TEXT NOT NULL, type TEXT NOT NULL, startsAt REAL NOT NULL,
                        durationMinutes INTEGER NOT NULL, endedAt REAL, endedBy TEXT);
                    CREATE INDEX session_upcoming ON session (startsAt, id) WHERE endedAt IS NULL;
                    CREATE TABLE historyComplete (conversationID TEXT PRIMARY KEY);
                    CREATE TABLE syncState (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        cursor TEXT, lastSyncAt REAL, serverClockOffset REAL NOT NULL DEFAULT 0);
                    INSERT INTO syncState (singleton) VALUES (1);
                    """)
        }
        migrator.registerMigration("0002-sealed-bodies") { db in
            // Bodies are sealed (FieldCipher) from now on; the column keeps its declared type and
            // holds BLOBs. A cache from before encryption has its bodies sealed here, and the
            // file is then rewritten whole so none of the plaintext pages survive.
            try DatabaseOpener.sealInPlace(
                db, table: "message", key: "id", column: "body", cipher: cipher)
        }
        migrator.registerMigration("0003-read-positions") { db in
            // R11: when each message was read, and each person's read position per conversation.
            try db.execute(
                sql: """
                    ALTER TABLE message ADD COLUMN readAt REAL;
                    CREATE TABLE readPosition (
                        conversationID TEXT NOT NULL, readerID TEXT NOT NULL, messageID TEXT NOT NULL,
                        upTo REAL NOT NULL, readAt REAL NOT NULL, PRIMARY KEY (conversationID, readerID));
                    """)
        }
        migrator.registerMigration("0004-server-time") { db in
            // R12: the server's time against the boot clock (CLOCK_BOOTTIME), valid in one boot,
            // shared by the profile's processes. Not secret: a boot id and two numbers.
            try db.execute(
                sql: """
                    ALTER TABLE syncState ADD COLUMN serverTimeBootID TEXT;
                    ALTER TABLE syncState ADD COLUMN serverTimeOffset REAL;
                    ALTER TABLE syncState ADD COLUMN serverTimeSampledAt REAL;
                    """)
        }
        migrator.registerMigration("0005-sealed-identities-and-search") { db in
            try sealIdentitiesAndIndex(db, cipher)
        }
        return migrator
    }

    /// The indexes a first sync builds after its last page instead of row by row: the
    /// conversation index takes every message of a feed page at a different place of the file,
    /// so keeping it up to date during a first sync costs more than building it once by sorting
    /// (Benchmarks/PersistenceBenchmark). Only queries wait for it, never correctness: no
    /// constraint rests on it.
    static let deferredIndexes = [
        (
            name: "message_by_conversation",
            sql: "CREATE INDEX message_by_conversation ON message (conversationID, createdAt, id)"
        )
    ]

    /// The writer's page cache while the conversation index is kept up to date row by row.
    static let writerCacheKiB = 16_384
    /// The writer's page cache while a first sync defers that index: rows then go to the end
    /// of the table and into the key's index, and 2 MiB stores them as fast as 16 MiB did
    /// (a first sync of 100k messages: 2.20 s and 2.32 s against 2.56 s and 2.14 s) with 22 MiB
    /// less resident memory.
    static let firstSyncCacheKiB = 2_048

    /// Drops the deferred indexes when the cache holds no message yet, in the transaction of a
    /// first sync's first commit (a feed with more pages to come, or a resync), and shrinks the
    /// writer's cache while they are missing. A sync stopped half-way keeps going without them
    /// when it resumes; until the feed's last page, queries by conversation scan the table.
    static func deferIndexesForFirstSync(_ db: Database) throws {
        if try !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM message)")! {
            for index in deferredIndexes { try db.execute(sql: "DROP INDEX IF EXISTS \(index.name)") }
        }
        // A pragma is not undone by a rollback: the size follows the indexes, not the last try.
        let cache = try missingIndexes(db).isEmpty ? writerCacheKiB : firstSyncCacheKiB
        try db.cachedStatement(sql: "PRAGMA cache_size = -\(cache)").execute()
    }

    /// Builds the deferred indexes that are missing, in the transaction of the feed's last
    /// page: the cache is complete and indexed in the same commit. The sort runs in the first
    /// sync's small cache; beyond it SQLite's sorter spills the index keys (ids and times, no
    /// body) to a temporary file it creates 0600 and unlinks at once. The writer's own cache
    /// size is back afterwards.
    static func buildDeferredIndexes(_ db: Database) throws {
        for index in try missingIndexes(db) { try db.execute(sql: index.sql) }
        try db.cachedStatement(sql: "PRAGMA cache_size = -\(writerCacheKiB)").execute()
    }

    private static func missingIndexes(_ db: Database) throws -> [(name: String, sql: String)] {
        try deferredIndexes.filter { index in
            try !Bool.fetchOne(
                db.cachedStatement(
                    sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?)"),
                arguments: [index.name])!
        }
    }

    /// Tables that hold server data, emptied by a full resync.
    static let serverTables = ["user", "message", "offer", "session", "historyComplete", "readPosition"]

    /// Empties the server's tables and the search index of their messages (a full resync).
    static func deleteServerData(_ db: Database) throws {
        for table in serverTables { try db.execute(sql: "DELETE FROM \(table)") }
        try db.execute(sql: SearchIndex.deleteAllSQL)
    }
}
