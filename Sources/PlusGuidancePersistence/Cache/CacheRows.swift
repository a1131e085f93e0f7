import Foundation
import GRDB
import GRDBSQLite
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

// Row mapping by column position: the select lists below and the decoders must stay in step.

enum CacheRows {
    static let messageColumns =
        "id, conversationID, senderID, recipientID, kind, body, createdAt, offerID, sessionID, deliveryState, readAt"

    /// Every row of `statement`, decoded straight from SQLite's own buffers: the cursor's row
    /// is a view of the statement, not a copy (`Row.fetchAll` copies every value of every row
    /// into a `Row` first, which cost as much as the decoding itself).
    static func all<T>(
        _ statement: Statement, arguments: StatementArguments = StatementArguments(), capacity: Int = 0,
        _ decode: (Row) throws -> T
    ) throws -> [T] {
        var values: [T] = []
        // A limit is not a count: `.max` (every row) must not reserve Int.max elements, which
        // trapped loadOlderMessages on any conversation longer than its first page.
        values.reserveCapacity(min(capacity, 1_024))
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try rows.next() { values.append(try decode(row)) }
        return values
    }

    static func date(_ value: Double?) -> Date? { value.map(Date.init(timeIntervalSinceReferenceDate:)) }

    static func decode<T: RawRepresentable>(_ type: T.Type, _ raw: String, table: String, column: String) throws -> T
    where T.RawValue == String {
        guard let value = T(rawValue: raw) else { throw PersistenceError.undecodable(table, column: column) }
        return value
    }

    /// - Parameter known: the conversation the query selected on, when it did: its members are
    ///   then taken from it instead of being made from the row's text again (three allocations
    ///   and a parse per row, most of a conversation's decoding after the body).
    static func message(_ row: Row, _ cipher: FieldCipher, in known: ConversationID? = nil) throws -> Message {
        let conversation: ConversationID
        if let known {
            conversation = known
        } else {
            let conversationRaw: String = row[1]
            guard let parsed = ConversationID(rawValue: conversationRaw) else {
                throw PersistenceError.undecodable("message", column: "conversationID")
            }
            conversation = parsed
        }
        let id: String = row[0]
        let sender = try member(row, 2, of: conversation, column: "senderID")
        let recipient = try member(row, 3, of: conversation, column: "recipientID")
        // Opened from SQLite's own copy of the blob, without copying it first.
        let body = try row.withUnsafeData(atIndex: 5) { sealed in
            guard let sealed else { throw PersistenceError.undecodable("message", column: "body") }
            return try cipher.openString(sealed, table: "message", row: id)
        }
        let createdAt: Double = row[6]
        let offerID: String? = row[7]
        let sessionID: String? = row[8]
        return Message(
            id: MessageID(rawValue: id), conversationID: conversation, senderID: sender, recipientID: recipient,
            kind: try decode(MessageKind.self, row[4], table: "message", column: "kind"), body: body,
            createdAt: Date(timeIntervalSinceReferenceDate: createdAt), offerID: offerID.map { OfferID(rawValue: $0) },
            sessionID: sessionID.map { SessionID(rawValue: $0) },
            deliveryState: try decode(DeliveryState.self, row[9], table: "message", column: "deliveryState"),
            readAt: date(row[10]))
    }

    /// The user id in column `index`: one of the conversation's two members, compared in
    /// SQLite's own buffer, or a new id for anything else (the Domain checks membership).
    private static func member(
        _ row: Row, _ index: Int, of conversation: ConversationID, column: String
    ) throws -> UserID {
        try row.withUnsafeData(atIndex: index) { data -> UserID in
            guard let data else { throw PersistenceError.undecodable("message", column: column) }
            return data.withUnsafeBytes { bytes -> UserID in
                for member in [conversation.therapistID, conversation.clientID] {
                    var raw = member.rawValue
                    let same = raw.withUTF8 { utf8 in
                        utf8.count == bytes.count
                            && (utf8.isEmpty || memcmp(utf8.baseAddress!, bytes.baseAddress!, utf8.count) == 0)
                    }
                    if same { return member }
                }
                return UserID(rawValue: String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    /// Upserts the rows of messages through one statement (``upsertMessage``), binding each
    /// value and stepping the statement with SQLite's own calls.
    ///
    /// A feed page is mostly messages, and building `StatementArguments` for each (eleven
    /// values boxed as `DatabaseValueConvertible`, then converted and bound) was two thirds of
    /// the writer's time in a first sync (perf, Benchmarks/PersistenceBenchmark). GRDB's
    /// `execute()` then cost another sixth per row: it asks every transaction observer about
    /// the statement, installs SQLite's update hook for the step and removes it after, and the
    /// hook hands each row to ``ChangeMarker``, which only needs the table's name once. So the
    /// statement is stepped here, outside GRDB's observation (whose update hook is installed
    /// only while GRDB itself runs a statement), and the store's marker is told once that
    /// `message` changed: the commit still bumps the marker, a rollback still forgets it.
    struct MessageUpsert {
        private let statement: Statement
        private let marker: ChangeMarker
        private var noted = false

        init(_ db: Database, marker: ChangeMarker) throws {
            statement = try db.cachedStatement(sql: CacheRows.upsertMessage)
            self.marker = marker
            // A step that failed earlier leaves its error for the next reset; it is not ours.
            sqlite3_reset(statement.sqliteStatement)
            statement.setUncheckedArguments(StatementArguments())
        }

        /// Upserts `m`, its body already sealed (``SealedBodies``): the new row's rowid, or 0
        /// when the message was already cached and its row was updated.
        mutating func execute(_ m: Message, sealedBody: Data) throws -> Int64 {
            let handle = statement.sqliteStatement
            sqlite3_reset(handle)
            Self.bind(m.id.rawValue, 1, handle)
            Self.bind(m.conversationID.rawValue, 2, handle)
            Self.bind(m.senderID.rawValue, 3, handle)
            Self.bind(m.recipientID.rawValue, 4, handle)
            Self.bind(m.kind.rawValue, 5, handle)
            _ = sealedBody.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress {
                    sqlite3_bind_blob(handle, 6, base, Int32(bytes.count), CacheRows.transient)
                } else {
                    sqlite3_bind_zeroblob(handle, 6, 0)
                }
            }
            sqlite3_bind_double(handle, 7, m.createdAt.timeIntervalSinceReferenceDate)
            Self.bind(m.offerID?.rawValue, 8, handle)
            Self.bind(m.sessionID?.rawValue, 9, handle)
            Self.bind(m.deliveryState.rawValue, 10, handle)
            if let readAt = m.readAt {
                sqlite3_bind_double(handle, 11, readAt.timeIntervalSinceReferenceDate)
            } else {
                sqlite3_bind_null(handle, 11)
            }
            if !noted {
                marker.noteChange(in: "message")
                noted = true
            }
            // An upsert that updates leaves the connection's last rowid alone: 0 then says so.
            let connection = sqlite3_db_handle(handle)
            sqlite3_set_last_insert_rowid(connection, 0)
            try CacheRows.step(statement)
            return sqlite3_last_insert_rowid(connection)
        }

        private static func bind(_ text: String?, _ index: Int32, _ handle: OpaquePointer) {
            guard var text else {
                sqlite3_bind_null(handle, index)
                return
            }
            text.withUTF8 { CacheRows.bindText($0, index, handle) }
        }
    }

    /// SQLite copies the value before the call returns.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds UTF-8 bytes as text with SQLite's own call (statements stepped past GRDB).
    static func bindText(_ utf8: UnsafeBufferPointer<UInt8>, _ index: Int32, _ handle: OpaquePointer) {
        // An empty buffer may have no address, which SQLite would bind as NULL.
        let empty: StaticString = ""
        _ = sqlite3_bind_text(
            handle, index,
            UnsafeRawPointer(utf8.baseAddress ?? empty.utf8Start).assumingMemoryBound(to: CChar.self),
            Int32(utf8.count), transient)
    }

    /// Steps a statement bound with SQLite's own calls to its end.
    static func step(_ statement: Statement) throws {
        let handle = statement.sqliteStatement
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            // SQLite's message names the statement's columns and constraints, never a value.
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))), sql: statement.sql)
        }
    }

    /// `INSERT … ON CONFLICT DO UPDATE` for `table` with `columns`, the first being the key.
    static func upsertSQL(_ table: String, _ columns: String) -> String {
        let names = columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let placeholders = Array(repeating: "?", count: names.count).joined(separator: ", ")
        let updates = names.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return
            "INSERT INTO \(table) (\(columns)) VALUES (\(placeholders)) ON CONFLICT(\(names[0])) DO UPDATE SET \(updates)"
    }

    /// A message's `readAt` never goes back to unread: an older copy of the message (an answer
    /// or event from before the read) keeps the time already stored.
    static let upsertMessage = upsertSQL("message", messageColumns).replacingOccurrences(
        of: "readAt = excluded.readAt", with: "readAt = coalesce(excluded.readAt, message.readAt)")

    static let readPositionColumns = "conversationID, readerID, messageID, upTo, readAt"

    static func readPosition(_ row: Row) throws -> ReadPosition {
        guard let conversation = ConversationID(rawValue: row[0]) else {
            throw PersistenceError.undecodable("readPosition", column: "conversationID")
        }
        return ReadPosition(
            conversationID: conversation, readerID: UserID(rawValue: row[1]), messageID: MessageID(rawValue: row[2]),
            upTo: Date(timeIntervalSinceReferenceDate: row[3]), readAt: Date(timeIntervalSinceReferenceDate: row[4]))
    }

    /// Stores a read position when it is ahead of the stored one, and stamps the messages it
    /// covers with its time, as the server does: the reader's own cache shows the read at once.
    static func apply(_ position: ReadPosition, _ db: Database) throws {
        let upTo = position.upTo.timeIntervalSinceReferenceDate
        try db.cachedStatement(
            sql: """
                INSERT INTO readPosition (\(readPositionColumns)) VALUES (?1, ?2, ?3, ?4, ?5)
                ON CONFLICT(conversationID, readerID) DO UPDATE SET messageID = ?3, upTo = ?4, readAt = ?5
                WHERE readPosition.upTo < ?4
                """
        ).execute(arguments: [
            position.conversationID.rawValue, position.readerID.rawValue, position.messageID.rawValue, upTo,
            position.readAt.timeIntervalSinceReferenceDate,
        ])
        try db.cachedStatement(
            sql: """
                UPDATE message SET readAt = ?1 WHERE conversationID = ?2 AND recipientID = ?3 AND readAt IS NULL
                AND createdAt <= ?4
                """
        ).execute(arguments: [
            position.readAt.timeIntervalSinceReferenceDate, position.conversationID.rawValue,
            position.readerID.rawValue, upTo,
        ])
    }
}
