import Foundation
import GRDB
import GRDBSQLite
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The cache's full-text index of message bodies, made of blind tokens (Architecture.md, "Search
/// without a readable index").
///
/// Each folded word of a body (``SearchText``) gives the SipHash of each of its first
/// ``prefixLength`` prefixes (``BlindIndex``); a message's distinct tokens, as 16 hex digits
/// each, are its row in an FTS5 table that stores no content (`content=''`) and no positions
/// (`detail=none`): the file holds fingerprints and row ids, never a word. A query's words give
/// their tokens; FTS5 finds the rows having them all, ranks them (bm25) and every candidate is
/// then opened and checked against the query itself, which settles words longer than the
/// prefixes and any collision of fingerprints.
///
/// A message is indexed in the statement after its row is inserted, in the same transaction: it
/// is never findable before it is readable, nor readable and not findable.
@_spi(PlusGuidanceTools) public enum SearchIndex {
    /// Prefixes longer than this are not indexed; a longer query word is looked up by its first
    /// `prefixLength` characters and checked against the opened bodies.
    static let prefixLength = 8

    /// Off only in the search benchmark's baseline (a first sync without the index, same run):
    /// messages are then neither tokenized nor indexed. Never for user data.
    @_spi(PlusGuidanceTools) public nonisolated(unsafe) static var indexesMessages = true

    static let createSQL =
        "CREATE VIRTUAL TABLE searchIndex USING fts5(tokens, content='', detail=none, tokenize='ascii')"
    static let insertSQL = "INSERT INTO searchIndex (rowid, tokens) VALUES (?, ?)"
    static let deleteSQL = "INSERT INTO searchIndex (searchIndex, rowid, tokens) VALUES ('delete', ?, ?)"
    static let deleteAllSQL = "INSERT INTO searchIndex (searchIndex) VALUES ('delete-all')"

    /// The tokens of `body`: distinct, as FTS5 text (`hex hex …`).
    static func tokens(of body: String, _ blind: BlindIndex) -> [UInt8] {
        var seen = Set<UInt64>()
        var text: [UInt8] = []
        forEachToken(of: body, blind) { token in
            guard seen.insert(token).inserted else { return }
            if !text.isEmpty { text.append(UInt8(ascii: " ")) }
            appendHex(token, to: &text)
        }
        return text
    }

    /// The FTS5 query of `terms`: every term's token (their prefixes, cut at ``prefixLength``).
    static func match(_ terms: [[Unicode.Scalar]], _ blind: BlindIndex) -> String {
        var text: [UInt8] = []
        for term in terms {
            var bytes: [UInt8] = []
            for scalar in term.prefix(prefixLength) { bytes.append(contentsOf: Array(String(scalar).utf8)) }
            // Hex digits only: nothing a user types reaches FTS5's query syntax.
            if !text.isEmpty { text.append(UInt8(ascii: " ")) }
            appendHex(bytes.withUnsafeBufferPointer { blind.word($0) }, to: &text)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Calls `body` with the token of each prefix of each word of `text`, duplicates included.
    static func forEachToken(of text: String, _ blind: BlindIndex, _ body: (UInt64) -> Void) {
        var word: [UInt8] = []
        var length = 0
        SearchText.forEachFoldedScalar(of: text) { scalar in
            guard SearchText.isWordScalar(scalar) else {
                length = 0
                word.removeAll(keepingCapacity: true)
                return
            }
            length += 1
            guard length <= prefixLength else { return }
            if scalar.isASCII {
                word.append(UInt8(scalar.value))
            } else {
                word.append(contentsOf: String(scalar).utf8)
            }
            body(word.withUnsafeBufferPointer { blind.word($0) })
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendHex(_ token: UInt64, to text: inout [UInt8]) {
        for shift in stride(from: 60, through: 0, by: -4) {
            text.append(hexDigits[Int(token >> UInt64(shift) & 0xf)])
        }
    }

    /// Indexes the message at `rowid` with `tokens` (``tokens(of:_:)``), through `statement`
    /// (``insertSQL``), stepped with SQLite's own calls like the message's row.
    static func insert(rowid: Int64, tokens: [UInt8], _ statement: Statement) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_bind_int64(handle, 1, rowid)
        tokens.withUnsafeBufferPointer { bytes in
            let empty: StaticString = ""
            _ = sqlite3_bind_text(
                handle, 2,
                UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(empty.utf8Start)).assumingMemoryBound(
                    to: CChar.self), Int32(bytes.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))), sql: statement.sql)
        }
    }

    /// Removes the message `id` from the index, before its row is deleted: a contentless index
    /// is told which tokens the row had, so its body is opened again. A body that no longer
    /// opens leaves the whole index to be rebuilt (``rebuild(_:_:)``).
    static func remove(_ id: String, _ db: Database, _ cipher: FieldCipher, _ blind: BlindIndex) throws {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT rowid, body FROM message WHERE id = ?"), arguments: [id])
        else { return }
        let rowid: Int64 = row[0]
        guard let body = try? cipher.openString(row[1] as Data? ?? Data(), table: "message", row: id) else {
            try db.execute(sql: "DELETE FROM message WHERE id = ?", arguments: [id])
            return try rebuild(db, cipher)
        }
        try db.cachedStatement(sql: deleteSQL).execute(arguments: [
            rowid, String(decoding: tokens(of: body, blind), as: UTF8.self),
        ])
    }

    /// Empties the index and indexes every message whose body opens again: after rows were
    /// deleted whose bodies did not open, and when a profile from before search is migrated.
    static func rebuild(_ db: Database, _ cipher: FieldCipher) throws {
        let blind = BlindIndex(cipher)
        try db.execute(sql: deleteAllSQL)
        let statement = try db.makeStatement(sql: insertSQL)
        let rows = try Row.fetchCursor(db, sql: "SELECT rowid, id, body FROM message")
        while let row = try rows.next() {
            let id: String = row[1]
            guard let body = try? cipher.openString(row[2] as Data? ?? Data(), table: "message", row: id) else {
                continue
            }
            try insert(rowid: row[0], tokens: tokens(of: body, blind), statement)
        }
    }

    /// The messages matching `query`, best first: FTS5's candidates in bm25 order, then the
    /// newest, each opened and checked against the query.
    static func search(
        _ query: String, in conversation: ConversationID?, limit: Int, _ db: Database, _ cipher: FieldCipher,
        _ blind: BlindIndex
    ) throws -> [SearchHit] {
        let terms = SearchText.queryTerms(query)
        guard !terms.isEmpty, limit > 0 else { return [] }
        let columns = CacheRows.messageColumns.split(separator: ",").map {
            "message." + $0.trimmingCharacters(in: .whitespaces)
        }.joined(separator: ", ")
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(columns) FROM searchIndex JOIN message ON message.rowid = searchIndex.rowid
                WHERE searchIndex MATCH ?1 AND (?2 IS NULL OR message.conversationID = ?2)
                ORDER BY searchIndex.rank, message.createdAt DESC, message.id DESC
                """)
        let rows = try Row.fetchCursor(
            statement, arguments: [match(terms, blind), conversation?.rawValue])
        var hits: [SearchHit] = []
        while hits.count < limit, let row = try rows.next() {
            // A row that does not open is skipped here as in every other read.
            guard let message = try? CacheRows.message(row, cipher),
                SearchText.matches(terms: terms, words: SearchText.words(message.body))
            else { continue }
            hits.append(SearchHit(message: message, snippet: SearchText.snippet(of: message.body, terms: terms)))
        }
        return hits
    }
}
