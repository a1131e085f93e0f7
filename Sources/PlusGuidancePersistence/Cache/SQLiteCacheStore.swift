import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The `PlusGuidanceDomain.CacheStore` of one account in a SQLite file (GRDB `DatabasePool`,
/// WAL mode), shared safely with other processes on the same profile.
///
/// Usually obtained from ``AccountStorage/cache``. Every method is one transaction: a feed page
/// and its cursor commit together or not at all.
public final class SQLiteCacheStore: CacheStore {
    /// The GRDB database, for observation and benchmarks: a `DatabasePool`, or one read-only
    /// `DatabaseQueue` for ``AccountStorage/Access/readOnly``. Writes must keep the cache's
    /// invariants; prefer the store's methods.
    @_spi(PlusGuidanceTools) public let database: any DatabaseWriter
    /// Seals the message bodies.
    @_spi(PlusGuidanceTools) public let cipher: FieldCipher
    /// Bumps the change markers after each commit of ``database``, told directly of the rows
    /// written past GRDB (``CacheRows/MessageUpsert``); `nil` for a read-only store.
    let marker: ChangeMarker?
    /// The messages a read of this cache could not open (``UnreadableRows``).
    let unreadable: UnreadableRows
    /// Checkpoints the WAL beside the writer; `nil` for a read-only store (``compactWAL()``).
    let checkpointer: WALCheckpointer?

    /// Opens (creating and migrating as needed) the cache at `path`.
    ///
    /// - Throws: ``PersistenceError/newerSchema(path:)``, or a GRDB error for a file that is not
    ///   a SQLite database. ``AccountStorage`` handles corruption by rebuilding the cache.
    ///   - cipher: the cipher of the account's data key (``AccountStorage`` makes it).
    public init(path: String, cipher: FieldCipher) throws {
        self.cipher = cipher
        // 16 MiB for the writer (CacheSchema.writerCacheKiB): feed pages touch the conversation
        // index all over, and below that size a 1M-message ingest re-reads index pages from the
        // OS (measured with Benchmarks/PersistenceBenchmark: 75k rows/s at the 2,000-page
        // default, 126k at 16 MiB, 128k at 32 MiB with twice the memory). A first sync, which
        // builds that index only at its end, runs with 2 MiB (CacheSchema.firstSyncCacheKiB).
        // A WAL of up to 8,192 pages (32 MiB) between automatic checkpoints instead of SQLite's
        // 1,000: each feed page rewrites index pages all over the file, and checkpointing every
        // 4 MiB copied those pages again and again (37k → 63k rows/s at 500 rows a commit).
        // journal_size_limit truncates the file back after a checkpoint so it does not stay big.
        // The checkpoint runs beside the writer, not in its commit (WALCheckpointer): a
        // 1M-message first sync went from 130k to 169k rows/s (medians of 5, same run).
        let marker = try ChangeMarker(databasePath: path)
        let checkpointer = WALCheckpointer(path: path, limit: 8_192)
        database = try DatabaseOpener(
            path: path, migrator: CacheSchema.migrator(cipher), durability: .normal,
            writerCacheKiB: CacheSchema.writerCacheKiB,
            walAutocheckpointPages: 8_192, walCheckpointer: checkpointer, changeMarker: marker
        ).open()
        self.marker = marker
        self.checkpointer = checkpointer
        unreadable = UnreadableRows(cachePath: path)
    }

    /// The marker every write of the feed's rows tells. A store opened read-only has none and
    /// refuses the write as its read-only connection would.
    private func writingMarker() throws -> ChangeMarker {
        guard let marker else {
            throw DatabaseError(resultCode: .SQLITE_READONLY, message: "attempt to write a readonly database")
        }
        return marker
    }

    /// The cache of a process that only reads (``AccountStorage/Access/readOnly``).
    init(reading database: DatabaseQueue, cipher: FieldCipher, path: String) {
        self.cipher = cipher
        self.database = database
        marker = nil
        checkpointer = nil
        unreadable = UnreadableRows(cachePath: path)
    }

    /// Opens the cache at `path` read-only, or `nil` when it needs a full open first.
    static func openForReading(path: String, cipher: FieldCipher) throws -> SQLiteCacheStore? {
        try DatabaseOpener(path: path, migrator: CacheSchema.migrator(cipher), durability: .normal).openForReading()
            .map { SQLiteCacheStore(reading: $0, cipher: cipher, path: path) }
    }

    public func apply(_ page: ChangePage) async throws {
        let (cipher, marker) = (cipher, try writingMarker())
        try await database.write { db in try Self.apply(page, in: db, SealedBodies(page.changes, cipher), marker) }
    }

    public func merge(_ changes: [Change]) async throws {
        let (cipher, marker) = (cipher, try writingMarker())
        try await database.write { db in try Self.apply(changes, in: db, SealedBodies(changes, cipher), marker) }
    }

    public func apply(_ pages: [ChangePage]) async throws {
        // The bodies are sealed on another core while the writer inserts (SealedBodies).
        let sealed = SealedBodies(pages.flatMap(\.changes), cipher)
        let marker = try writingMarker()
        try await database.write { db in
            if pages.last?.hasMore == true { try CacheSchema.deferIndexesForFirstSync(db) }
            for page in pages { try Self.apply(page, in: db, sealed, marker) }
        }
    }

    public func replaceAll(with page: ChangePage) async throws {
        let (cipher, marker) = (cipher, try writingMarker())
        try await database.write { db in
            try CacheSchema.deleteServerData(db)
            try CacheSchema.deferIndexesForFirstSync(db)
            try Self.apply(page, in: db, SealedBodies(page.changes, cipher), marker)
        }
    }

    /// Applies `page`, its bodies sealed by `sealed`, and its cursor; the feed's last page
    /// builds the indexes a first sync deferred.
    static func apply(_ page: ChangePage, in db: Database, _ sealed: SealedBodies, _ marker: ChangeMarker) throws {
        try apply(page.changes, in: db, sealed, marker)
        try db.cachedStatement(sql: "UPDATE syncState SET cursor = ?").execute(arguments: [page.cursor.rawValue])
        if !page.hasMore { try CacheSchema.buildDeferredIndexes(db) }
    }

    /// Applies changes whose message bodies are already sealed, leaving the cursor alone; the
    /// message rows are written past GRDB and `marker` is told (``CacheRows/MessageUpsert``).
    static func apply(_ changes: [Change], in db: Database, _ sealed: SealedBodies, _ marker: ChangeMarker) throws {
        // Statements are looked up once per page, not once per row: feed pages are the hot path.
        var upsertMessage = try CacheRows.MessageUpsert(db, marker: marker)
        var index: Statement?
        var upsertOffer: Statement?
        var upsertSession: Statement?
        let cipher = sealed.cipher
        for change in changes {
            switch change {
            case .message(let value):
                // Indexed when new, in this transaction (SearchIndex); a body never changes.
                let rowid = try upsertMessage.execute(value, sealedBody: try sealed.next(value))
                guard rowid != 0, SearchIndex.indexes(value) else { continue }
                index = try index ?? db.cachedStatement(sql: SearchIndex.insertSQL)
                try SearchIndex.insert(rowid: rowid, tokens: sealed.tokens(of: value), index!)
            case .offer(let value):
                upsertOffer = try upsertOffer ?? db.cachedStatement(sql: CacheRows.upsertOffer)
                try upsertOffer!.execute(arguments: CacheRows.offerArguments(value, cipher))
            case .session(let value):
                upsertSession = try upsertSession ?? db.cachedStatement(sql: CacheRows.upsertSession)
                try upsertSession!.execute(arguments: CacheRows.sessionArguments(value, cipher))
            case .read(let value): try CacheRows.apply(value, db)
            case .user(let value):
                try db.cachedStatement(sql: CacheRows.upsertUser).execute(
                    arguments: CacheRows.userArguments(value, cipher))
            case .deleted(let reference):
                let (table, id): (String, String) =
                    switch reference {
                    case .user(let id): ("user", id.rawValue)
                    case .message(let id): ("message", id.rawValue)
                    case .offer(let id): ("offer", id.rawValue)
                    case .session(let id): ("session", id.rawValue)
                    }
                if table == "message" { try SearchIndex.remove(id, db, cipher, sealed.blind) }
                try db.cachedStatement(sql: "DELETE FROM \(table) WHERE id = ?").execute(arguments: [id])
                if table == "user" {
                    try db.cachedStatement(sql: "DELETE FROM presence WHERE userID = ?").execute(arguments: [id])
                }
            }
        }
    }

    public func readPosition(of reader: UserID, in conversation: ConversationID) async throws -> ReadPosition? {
        try database.readHere { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT \(CacheRows.readPositionColumns) FROM readPosition
                        WHERE conversationID = ? AND readerID = ?
                        """), arguments: [conversation.rawValue, reader.rawValue]
            ).map(CacheRows.readPosition)
        }
    }

    public func unreadCount(in conversation: ConversationID, for reader: UserID, readUpTo: Date?) async throws -> Int {
        try database.readHere { db in try Self.unreadCount(in: conversation, for: reader, readUpTo: readUpTo, db) }
    }

    /// A range of the conversation index: messages to `reader` after the later of the stored
    /// position and `readUpTo`.
    static func unreadCount(
        in conversation: ConversationID, for reader: UserID, readUpTo: Date?, _ db: Database
    ) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT count(*) FROM message WHERE conversationID = ?1 AND recipientID = ?2 AND createdAt > max(?3,
                        coalesce((SELECT upTo FROM readPosition WHERE conversationID = ?1 AND readerID = ?2), -1e300))
                    """),
            arguments: [conversation.rawValue, reader.rawValue, readUpTo?.timeIntervalSinceReferenceDate ?? -1e300])
            ?? 0
    }

    public func updatePresence(_ presence: [Presence]) async throws {
        try await database.write { db in
            for value in presence {
                try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO presence (userID, online, lastSeenAt) VALUES (?, ?, ?)"
                )
                .execute(arguments: [
                    value.userID.rawValue, value.isOnline, value.lastSeenAt?.timeIntervalSinceReferenceDate,
                ])
            }
        }
    }

    public func messages(in conversation: ConversationID, limit: Int, before: MessageID?) async throws -> [Message] {
        let cipher = cipher
        let skipped = UnreadableRows.Skipped()
        let messages = try database.readHere { db in
            try Self.messages(in: conversation, limit: limit, before: before, db: db, cipher, skipping: skipped)
        }
        unreadable.record(skipped.ids)
        return messages
    }

    @_spi(PlusGuidanceTools) public static func messages(
        in conversation: ConversationID, limit: Int, before: MessageID?, db: Database, _ cipher: FieldCipher,
        skipping skipped: UnreadableRows.Skipped? = nil
    ) throws
        -> [Message]
    {
        guard limit > 0 else { return [] }
        let statement: Statement
        let arguments: StatementArguments
        if let before {
            statement = try db.cachedStatement(
                sql: """
                    SELECT \(CacheRows.messageColumns) FROM message
                    WHERE conversationID = ?1 AND (createdAt, id) < (SELECT createdAt, id FROM message WHERE id = ?2)
                    ORDER BY createdAt DESC, id DESC LIMIT ?3
                    """)
            arguments = [conversation.rawValue, before.rawValue, limit]
        } else {
            statement = try db.cachedStatement(
                sql: """
                    SELECT \(CacheRows.messageColumns) FROM message WHERE conversationID = ?
                    ORDER BY createdAt DESC, id DESC LIMIT ?
                    """)
            arguments = [conversation.rawValue, limit]
        }
        guard let skipped else {
            return try CacheRows.all(statement, arguments: arguments, capacity: limit) {
                try CacheRows.message($0, cipher, in: conversation)
            }
        }
        return try CacheRows.all(statement, arguments: arguments, capacity: limit) { row -> Message? in
            do {
                return try CacheRows.message(row, cipher, in: conversation)
            } catch let error as PersistenceError where error == .undecodableRowCode {
                skipped.ids.append(row[0])
                return nil
            }
        }.compactMap { $0 }
    }

    public func message(_ id: MessageID) async throws -> Message? {
        let cipher = cipher
        return try database.readHere { db in
            try Row.fetchOne(
                db, sql: "SELECT \(CacheRows.messageColumns) FROM message WHERE id = ?", arguments: [id.rawValue]
            )
            .map { try CacheRows.message($0, cipher) }
        }
    }

    public func markHistoryComplete(_ conversation: ConversationID) async throws {
        try await database.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO historyComplete (conversationID) VALUES (?)",
                arguments: [conversation.rawValue])
        }
    }

    public func isHistoryComplete(_ conversation: ConversationID) async throws -> Bool {
        try database.readHere { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM historyComplete WHERE conversationID = ?)",
                arguments: [conversation.rawValue]) ?? false
        }
    }
}

extension SQLiteCacheStore {
    public func dropUnreadableRows() async throws -> Bool {
        let ids = unreadable.pending()
        guard !ids.isEmpty else { return false }
        let cipher = cipher
        try await database.write { db in
            for id in ids { try db.execute(sql: "DELETE FROM message WHERE id = ?", arguments: [id]) }
            // Their tokens cannot be named without their bodies: the index is made again.
            try SearchIndex.rebuild(db, cipher)
            try db.execute(sql: "UPDATE syncState SET cursor = NULL")
        }
        unreadable.clear()
        return true
    }

    /// How many messages readers of this cache skipped because they could not open them, until
    /// the next pull fetches them again.
    public func unreadableRowCount() -> Int { unreadable.pending().count }
}

/// Messages of the cache whose row does not open (a sealed body that does not authenticate, a
/// field outside its range): a read skips them and shows the rest instead of failing whole, and
/// records their ids here, in a file beside the cache (ids only, 0600), because the reader may
/// hold the cache read-only. The next pull, in whichever process runs the engine, deletes them
/// and starts the feed over from its beginning, which brings them back as the server has them
/// (``SQLiteCacheStore/dropUnreadableRows()``).
@_spi(PlusGuidanceTools) public final class UnreadableRows: Sendable {
    /// The ids one read skipped.
    @_spi(PlusGuidanceTools) public final class Skipped: @unchecked Sendable {
        // @unchecked: filled by the one read that owns it, then read after it returned.
        var ids: [String] = []
    }

    let path: String

    init(cachePath: String) { path = cachePath + ".unreadable" }

    func record(_ ids: [String]) {
        guard !ids.isEmpty else { return }
        let known = Set(pending())
        let added = ids.filter { !known.contains($0) }
        guard !added.isEmpty else { return }
        let text = (Array(known) + added).joined(separator: "\n") + "\n"
        // Best effort: a profile the reader may not write keeps showing the rest all the same.
        try? SecureFiles.writeAtomically(Data(text.utf8), to: path)
    }

    func pending() -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func clear() { try? FileManager.default.removeItem(atPath: path) }
}
