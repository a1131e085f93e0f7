import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The `PlusGuidanceDomain.OutboxStore` of one account, in its own SQLite file next to the cache.
///
/// The outbox is kept apart from the cache so that a cache found corrupt can be moved aside and
/// rebuilt from the server without touching what the user did offline. Every commit is durable
/// when it returns (`synchronous=FULL`), so an action the app reported as queued survives a
/// power loss.
public final class SQLiteOutboxStore: OutboxStore {
    /// A `DatabasePool`, or one read-only `DatabaseQueue` for ``AccountStorage/Access/readOnly``.
    @_spi(PlusGuidanceTools) public let database: any DatabaseWriter
    /// Decoded actions by key: an entry's action never changes, and opening and decoding it is
    /// most of the cost of reading a long outbox. Holds the cipher of the outbox's data key.
    let actions: ActionCache

    /// Opens (creating and migrating as needed) the outbox at `path`.
    /// - Throws: ``PersistenceError/newerSchema(path:)``, or a GRDB error for a file that is not
    ///   a SQLite database.
    ///   - cipher: the cipher of the outbox's data key (``AccountStorage`` makes it).
    public init(path: String, cipher: FieldCipher) throws {
        actions = ActionCache(cipher: cipher)
        var opener = DatabaseOpener(path: path, migrator: Self.migrator(cipher), durability: .full)
        opener.secureDelete = true
        // SQLite's checkpoint every 1,000 pages, run beside the writer (WALCheckpointer): in a
        // drain it came every eighth batch and stopped the sender for two syncs each time.
        opener.walAutocheckpointPages = 1_000
        database = try opener.open()
    }

    /// The outbox of a process that only reads (``AccountStorage/Access/readOnly``).
    init(reading database: DatabaseQueue, cipher: FieldCipher) {
        actions = ActionCache(cipher: cipher)
        self.database = database
    }

    /// Opens the outbox at `path` read-only, or `nil` when it needs a full open first.
    static func openForReading(path: String, cipher: FieldCipher) throws -> SQLiteOutboxStore? {
        try DatabaseOpener(path: path, migrator: migrator(cipher), durability: .full).openForReading().map {
            SQLiteOutboxStore(reading: $0, cipher: cipher)
        }
    }

    private static let columns =
        "sequence, key, action, state, attempts, lastErrorCode, lastErrorReason, enqueuedAt, notBefore, deadline, conversationID"

    /// The entry of a row. A row whose action does not open (a flipped byte in its seal, JSON
    /// that does not decode) is quarantined, not a wall: it reads as a failed
    /// ``OutboxAction/unreadable(conversation:)`` entry with its key, so every other entry still
    /// goes out and the user can discard it. Any other failure (libcrypto, the disk) still fails
    /// the read: then no row would open, and nothing is to be skipped.
    static func entry(_ row: Row, actions: ActionCache) throws -> OutboxEntry {
        let key: String = row[1]
        let action: OutboxAction
        if let cached = actions[key] {
            action = cached
        } else {
            let json: Data
            do {
                json = try actions.cipher.open(row[2] as Data? ?? Data(), table: "outbox", row: key)
            } catch let error as PersistenceError where error == .undecodableRowCode {
                return quarantined(row, key: key)
            }
            guard let decoded = try? JSONDecoder().decode(OutboxAction.self, from: json) else {
                return quarantined(row, key: key)
            }
            action = decoded
            actions[key] = action
        }
        let code: String? = row[5]
        let reason: String
        do {
            reason = try (row[6] as Data?).map { try actions.cipher.openString($0, table: reasonTable, row: key) } ?? ""
        } catch let error as PersistenceError where error == .undecodableRowCode {
            return quarantined(row, key: key)
        }
        return OutboxEntry(
            id: IdempotencyKey(rawValue: key), action: action,
            enqueuedAt: Date(timeIntervalSinceReferenceDate: row[7]),
            state: try CacheRows.decode(OutboxEntry.State.self, row[3], table: "outbox", column: "state"),
            attempts: row[4], lastError: code.map { OutboxFailure(code: $0, reason: reason) },
            notBefore: CacheRows.date(row[8]), sequence: row[0], deadline: CacheRows.date(row[9]))
    }

    /// The failed entry that stands for a row whose action cannot be read.
    private static func quarantined(_ row: Row, key: String) -> OutboxEntry {
        let conversation: String? = row[10]
        let enqueued: Double? = row[7]
        let attempts: Int? = row[4]
        let sequence: Int64 = row[0]
        let action = OutboxAction.unreadable(conversation: conversation.flatMap { ConversationID(rawValue: $0) })
        return OutboxEntry(
            id: IdempotencyKey(rawValue: key), action: action,
            enqueuedAt: Date(timeIntervalSinceReferenceDate: enqueued ?? 0), state: .failed, attempts: attempts ?? 0,
            lastError: OutboxFailure.undecodable, notBefore: nil, sequence: sequence, deadline: nil)
    }

    public func enqueue(_ entry: OutboxEntry) async throws -> OutboxEntry {
        try await enqueue(entry, superseding: [])
    }

    public func enqueue(_ entry: OutboxEntry, superseding superseded: [IdempotencyKey]) async throws -> OutboxEntry {
        let action = try actions.cipher.seal(
            try JSONEncoder().encode(entry.action), table: "outbox", row: entry.id.rawValue)
        let reason = try Self.sealReason(entry.lastError?.reason, key: entry.id.rawValue, actions.cipher)
        let actions = actions
        return try await database.write { db in
            for key in superseded {
                try db.execute(
                    sql: "DELETE FROM outbox WHERE key = ? AND state = ?",
                    arguments: [key.rawValue, OutboxEntry.State.pending.rawValue])
            }
            try db.execute(
                sql: """
                    INSERT INTO outbox (key, action, state, attempts, lastErrorCode, lastErrorReason, enqueuedAt, notBefore,
                        conversationID, deadline)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING
                    """,
                arguments: [
                    entry.id.rawValue, action, entry.state.rawValue, entry.attempts, entry.lastError?.code,
                    reason, entry.enqueuedAt.timeIntervalSinceReferenceDate,
                    entry.notBefore?.timeIntervalSinceReferenceDate, entry.action.orderingConversation?.rawValue,
                    entry.deadline?.timeIntervalSinceReferenceDate,
                ])
            guard let stored = try Self.entry(entry.id, db, actions: actions) else { throw PersistenceError.closed }
            return stored
        }
    }

    static func entry(_ key: IdempotencyKey, _ db: Database, actions: ActionCache) throws -> OutboxEntry? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM outbox WHERE key = ?", arguments: [key.rawValue]).map {
            try entry($0, actions: actions)
        }
    }

    static func entries(_ db: Database, actions: ActionCache) throws -> [OutboxEntry] {
        try CacheRows.all(db.cachedStatement(sql: "SELECT \(columns) FROM outbox ORDER BY sequence")) {
            try entry($0, actions: actions)
        }
    }

    public func entries() async throws -> [OutboxEntry] {
        let actions = actions
        return try database.readHere { db in try Self.entries(db, actions: actions) }
    }

    /// A delivery round's entries (`OutboxStore.deliveryCandidates(at:)`), found through
    /// indexes alone: the conversations one index seek each (a loose index scan), each one's
    /// first entry not due at `now` in `outbox_waiting`, and its entries up to that one. A round
    /// over a long queue waiting for a backoff reads and decodes one entry per conversation;
    /// scanning the table instead took most of the time of queueing 10k texts offline.
    public func deliveryCandidates(at now: Date) async throws -> [OutboxEntry] {
        let actions = actions
        return try database.readHere { db in
            try CacheRows.all(
                db.cachedStatement(
                    sql: """
                        WITH RECURSIVE
                            conversation(id) AS (
                                SELECT min(conversationID) FROM outbox
                                UNION ALL
                                SELECT (SELECT min(conversationID) FROM outbox WHERE conversationID > conversation.id)
                                FROM conversation WHERE id IS NOT NULL),
                            picked(sequence) AS (
                                SELECT sequence FROM outbox WHERE conversationID IS NULL
                                UNION SELECT sequence FROM outbox WHERE deadline IS NOT NULL
                                UNION SELECT outbox.sequence FROM conversation JOIN outbox ON outbox.conversationID = conversation.id
                                WHERE outbox.sequence <= ifnull(
                                    (SELECT waiting.sequence FROM outbox AS waiting
                                        WHERE waiting.conversationID = conversation.id
                                        AND (waiting.state != 'pending' OR waiting.notBefore IS NOT NULL)
                                        AND (waiting.state != 'pending' OR waiting.notBefore > ?)
                                        ORDER BY waiting.sequence LIMIT 1),
                                    9223372036854775807))
                        SELECT \(Self.columns) FROM outbox WHERE sequence IN picked ORDER BY sequence
                        """), arguments: [now.timeIntervalSinceReferenceDate]
            ) { try Self.entry($0, actions: actions) }
        }
    }

    /// Through the `outbox_deadline` index: a status beside a long queue of texts reads none of
    /// them.
    public func pendingWithDeadline() async throws -> [OutboxEntry] {
        let actions = actions
        return try database.readHere { db in
            try CacheRows.all(
                db.cachedStatement(
                    sql: """
                        SELECT \(Self.columns) FROM outbox INDEXED BY outbox_deadline
                        WHERE deadline IS NOT NULL AND state = 'pending' ORDER BY sequence
                        """)
            ) { try Self.entry($0, actions: actions) }
        }
    }

    public func earliestRetry() async throws -> Date? {
        try database.readHere { db in
            CacheRows.date(
                try Double.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT min(notBefore) FROM outbox WHERE state = 'pending' AND notBefore IS NOT NULL")))
        }
    }

    /// The message entries of one conversation, in delivery order (one index range: a
    /// conversation's view stays cheap however long the outbox is).
    public func entries(in conversation: ConversationID) async throws -> [OutboxEntry] {
        let actions = actions
        return try database.readHere { db in try Self.entries(in: conversation, db, actions: actions) }
    }

    static func entries(
        in conversation: ConversationID, _ db: Database, actions: ActionCache
    ) throws
        -> [OutboxEntry]
    {
        try CacheRows.all(
            db.cachedStatement(sql: "SELECT \(columns) FROM outbox WHERE conversationID = ? ORDER BY sequence"),
            arguments: [conversation.rawValue]
        ) { try entry($0, actions: actions) }
    }

    /// Removes every entry in one durable transaction (a sign-out that discards the outbox).
    public func removeAll() async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM outbox") }
        actions.removeAll()
        try await forgetDelivered()
    }

    /// Once the outbox is empty, nothing of what it held may stay on disk: deleted rows are
    /// zeroed (`secure_delete`, set when the store opens), and the WAL, which still holds the
    /// pages as they were, is checkpointed and truncated to nothing.
    ///
    /// Then one frame goes back into it: the database header (page 1, which holds the schema,
    /// never an entry), rewritten with the same `user_version`. GRDB writes to a database whose
    /// WAL is empty when it opens it (its issue 102), so without that frame every later command
    /// on the profile would open the outbox with a write transaction and two flushes.
    private func forgetDelivered() async throws {
        try await database.writeWithoutTransaction { db in
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox") == 0 else { return }
            // A checkpoint under way elsewhere (this store's WALCheckpointer, another process's
            // writer) holds the checkpoint lock, and SQLite then answers busy at once, its busy
            // handler not asked: tried again until it is done (milliseconds), for at most 2 s.
            for _ in 0..<400 {
                guard try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") == 1 else { break }
                usleep(5_000)
            }
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            try db.execute(sql: "PRAGMA user_version = \(version)")
        }
    }

    /// Whether an earlier entry of the same conversation is still in the outbox: then `key`
    /// must wait for it (messages go out in order), and attempting it now is pointless.
    public func isQueuedBehindAnother(_ key: IdempotencyKey) async throws -> Bool {
        try database.readHere { db in
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM outbox AS earlier, outbox AS this
                            WHERE this.key = ? AND this.conversationID IS NOT NULL
                            AND earlier.conversationID = this.conversationID AND earlier.sequence < this.sequence)
                        """), arguments: [key.rawValue]) ?? false
        }
    }

    /// The outbox's counts for a status line, without reading the entries.
    public func summary() async throws -> OutboxSummary {
        try database.readHere(Self.summary)
    }

    static func summary(_ db: Database) throws -> OutboxSummary {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT count(*) FILTER (WHERE state != 'failed'), count(*) FILTER (WHERE state = 'failed'),
                        min(enqueuedAt) FILTER (WHERE state != 'failed') FROM outbox
                    """))
        return OutboxSummary(
            pending: row?[0] ?? 0, failed: row?[1] ?? 0, oldestPendingSince: CacheRows.date(row?[2]))
    }

    public func entry(_ key: IdempotencyKey) async throws -> OutboxEntry? {
        let actions = actions
        return try database.readHere { db in try Self.entry(key, db, actions: actions) }
    }

    /// Updates an entry; with `durably: false` the commit skips the fsync (`synchronous=NORMAL`
    /// for this one transaction): losing such a commit in a power failure, never in a crash,
    /// only means the entry is attempted again with its key, which the server answers from its
    /// stored answer.
    public func update(_ entry: OutboxEntry, durably: Bool) async throws {
        try await update([entry], durably: durably)
    }

    public func update(_ entries: [OutboxEntry], durably: Bool) async throws {
        let cipher = actions.cipher
        try await write(durably: durably) { db in
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE outbox SET state = ?, attempts = ?, lastErrorCode = ?, lastErrorReason = ?, notBefore = ?
                    WHERE key = ?
                    """)
            for entry in entries {
                try statement.execute(arguments: [
                    entry.state.rawValue, entry.attempts, entry.lastError?.code,
                    try Self.sealReason(entry.lastError?.reason, key: entry.id.rawValue, cipher),
                    entry.notBefore?.timeIntervalSinceReferenceDate, entry.id.rawValue,
                ])
                guard db.changesCount == 1 else { throw DomainError.notFound }
            }
        }
    }

    /// Removes an entry; `durably: false` as for `update(_:durably:)`, for an entry the server
    /// confirmed.
    public func remove(_ key: IdempotencyKey, durably: Bool) async throws {
        try await remove([key], durably: durably)
    }

    public func remove(_ keys: [IdempotencyKey], durably: Bool) async throws {
        try await write(durably: durably) { db in
            let statement = try db.cachedStatement(sql: "DELETE FROM outbox WHERE key = ?")
            for key in keys { try statement.execute(arguments: [key.rawValue]) }
        }
        for key in keys { actions[key.rawValue] = nil }
        try await forgetDelivered()
    }

    private func write(durably: Bool, _ body: @escaping @Sendable (Database) throws -> Void) async throws {
        guard !durably else { return try await database.write(body) }
        try await database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
            try db.inTransaction {
                try body(db)
                return .commit
            }
        }
    }
}

/// Decoded outbox actions by key, shared by the store's readers, and the cipher that opens them.
final class ActionCache: Sendable {
    let cipher: FieldCipher
    private let lock = NSLock()
    private nonisolated(unsafe) var actions: [String: OutboxAction] = [:]

    init(cipher: FieldCipher) { self.cipher = cipher }

    subscript(key: String) -> OutboxAction? {
        get { lock.withLock { actions[key] } }
        set { lock.withLock { actions[key] = newValue } }
    }

    func removeAll() { lock.withLock { actions = [:] } }
}
