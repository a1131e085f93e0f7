import Foundation
import GRDB
import GRDBSQLite
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The cache's full-text index of message bodies, made of blind tokens (Architecture.md, "Search
/// without a readable index").
///
/// Each folded word of a body (``SearchText``) gives a keyed fingerprint (SipHash-2-4, 48 bits,
/// ``BlindIndex``) of each of its prefixes whose length is in ``prefixLengths``; those tokens, as 12 hex digits
/// each, are the message's row in an FTS5 table that stores no content (`content=''`), no
/// positions (`detail=none`) and no sizes (`columnsize=0`): the file holds fingerprints and row
/// ids, never a word. A query's words give their tokens; FTS5 finds the rows having them all,
/// newest rows first, and every candidate is opened and checked against the query itself, which
/// settles words longer than the prefixes and any collision of fingerprints. The matches are
/// then ranked by relevance (``SearchText/relevance(of:terms:)``), then the newest first; with
/// more than ``rankedWindow`` matches, the newest that many are ranked.
///
/// A message is indexed in the statement after its row is inserted, in the same transaction: it
/// is never findable before it is readable, nor readable and not findable.
@_spi(PlusGuidanceTools) public enum SearchIndex {
    /// The lengths of the prefixes indexed (in characters of the folded word): every length up
    /// to 5, then 7 and 10, so a long query word is looked up by a prefix that is still rare.
    /// A query word is looked up by its longest indexed prefix and checked against the opened
    /// bodies.
    static let prefixLengths: [Int] = [1, 2, 3, 4, 5, 7, 10]
    /// `prefixLengths` as a table from length to whether it is indexed.
    private static let indexedLength: [Bool] = (0...10).map { prefixLengths.contains($0) }
    /// The longest indexed prefix of a query word of `length` characters.
    static func lookupLength(_ length: Int) -> Int { prefixLengths.last { $0 <= length } ?? 1 }

    /// How many matches, the newest, are ranked by relevance: what bounds a search for a word
    /// in most messages (opening and checking each costs about 3 µs).
    static let rankedWindow = 500

    /// Off only in the search benchmark's baseline (a first sync without the index, same run):
    /// messages are then neither tokenized nor indexed. Never for user data.
    @_spi(PlusGuidanceTools) public nonisolated(unsafe) static var indexesMessages = true

    /// Whether `message` is indexed: texts people wrote. The system messages of the session
    /// flow are fixed texts, and their kind is in clear: indexed, they would hand whoever holds
    /// the file the tokens of their words ("session", "ready", …) to look for in the texts.
    static func indexes(_ message: Message) -> Bool { indexesMessages && message.kind == .text }

    static let createSQL = """
        CREATE VIRTUAL TABLE searchIndex USING fts5(
            tokens, content='', detail=none, columnsize=0, tokenize='ascii')
        """
    static let insertSQL = "INSERT INTO searchIndex (rowid, tokens) VALUES (?, ?)"
    static let deleteSQL = "INSERT INTO searchIndex (searchIndex, rowid, tokens) VALUES ('delete', ?, ?)"
    static let deleteAllSQL = "INSERT INTO searchIndex (searchIndex) VALUES ('delete-all')"

    /// The distinct tokens of `body` as FTS5 text (`hex hex …`). Made on the sealing thread
    /// (``SealedBodies``): what it removes here (repeats) the writer does not spend time on.
    static func tokens(of body: String, _ blind: BlindIndex) -> [UInt8] {
        var tokens: [UInt64] = []
        tokens.reserveCapacity(body.utf8.count)
        var body = body
        // ASCII, most text: folded and split byte by byte, each prefix packed in a UInt64
        // (the same bytes, so the same tokens, as the general path below).
        let ascii = body.withUTF8 { utf8 -> Bool in
            guard utf8.allSatisfy({ $0 < 0x80 }) else { return false }
            // The word's first 16 bytes, little-endian: its prefixes are their first bytes.
            var word: (UInt64, UInt64) = (0, 0)
            var length = 0
            for byte in utf8 {
                let folded = (byte &- 0x41) < 26 ? byte | 0x20 : byte
                guard (folded &- 0x61) < 26 || (folded &- 0x30) < 10 else {
                    length = 0
                    word = (0, 0)
                    continue
                }
                length += 1
                guard length <= 10 else { continue }
                if length <= 8 {
                    word.0 |= UInt64(folded) << (8 * UInt64(length - 1))
                } else {
                    word.1 |= UInt64(folded) << (8 * UInt64(length - 9))
                }
                guard indexedLength[length] else { continue }
                let token =
                    length <= 7
                    ? blind.word(packed: word.0, count: length)
                    : withUnsafeBytes(of: word) { bytes in
                        blind.word(UnsafeBufferPointer(rebasing: bytes.bindMemory(to: UInt8.self)[0..<length]))
                    }
                tokens.append(token & 0xffff_ffff_ffff)
            }
            return true
        }
        if !ascii { forEachToken(of: body, blind) { tokens.append($0 & 0xffff_ffff_ffff) } }
        tokens.sort()
        var text: [UInt8] = []
        text.reserveCapacity(tokens.count * 13)
        var previous: UInt64?
        for token in tokens where token != previous {
            if previous != nil { text.append(UInt8(ascii: " ")) }
            appendHex(token, to: &text)
            previous = token
        }
        return text
    }

    /// The FTS5 query of `terms`: every term's token (its longest indexed prefix).
    static func match(_ terms: [[Unicode.Scalar]], _ blind: BlindIndex) -> String {
        var text: [UInt8] = []
        for term in terms {
            var bytes: [UInt8] = []
            for scalar in term.prefix(lookupLength(term.count)) { bytes.append(contentsOf: Array(String(scalar).utf8)) }
            // Hex digits only: nothing a user types reaches FTS5's query syntax.
            if !text.isEmpty { text.append(UInt8(ascii: " ")) }
            appendHex(bytes.withUnsafeBufferPointer { blind.word($0) } & 0xffff_ffff_ffff, to: &text)
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
            guard length <= 10 else { return }
            if scalar.isASCII {
                word.append(UInt8(scalar.value))
            } else {
                word.append(contentsOf: String(scalar).utf8)
            }
            guard indexedLength[length] else { return }
            body(word.withUnsafeBufferPointer { blind.word($0) })
        }
    }

    /// The token's 48 low bits as 12 hex digits: a collision is settled by the check of the
    /// opened body, and shorter tokens are less for FTS5 to read and store.
    @inline(__always) private static func appendHex(_ token: UInt64, to text: inout [UInt8]) {
        for shift in stride(from: 44, through: 0, by: -4) {
            let digit = UInt8(truncatingIfNeeded: token >> UInt64(shift) & 0xf)
            text.append(digit < 10 ? 0x30 + digit : 0x57 + digit)
        }
    }

    /// Indexes the message at `rowid` with `tokens` (``tokens(of:_:)``), through `statement`
    /// (``insertSQL``), stepped with SQLite's own calls like the message's row.
    static func insert(rowid: Int64, tokens: [UInt8], _ statement: Statement) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_bind_int64(handle, 1, rowid)
        tokens.withUnsafeBufferPointer { CacheRows.bindText($0, 2, handle) }
        try CacheRows.step(statement)
    }

    /// Removes the message `id` from the index, before its row is deleted: a contentless index
    /// is told which tokens the row had, so its body is opened again. A body that no longer
    /// opens leaves the whole index to be rebuilt (``rebuild(_:_:)``).
    static func remove(_ id: String, _ db: Database, _ cipher: FieldCipher, _ blind: BlindIndex) throws {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT rowid, body FROM message WHERE id = ? AND kind = 'text'"),
                arguments: [id])
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
        let blind = cipher.blindIndex
        try db.execute(sql: deleteAllSQL)
        let statement = try db.makeStatement(sql: insertSQL)
        let rows = try Row.fetchCursor(db, sql: "SELECT rowid, id, body FROM message WHERE kind = 'text'")
        while let row = try rows.next() {
            let id: String = row[1]
            guard let body = try? cipher.openString(row[2] as Data? ?? Data(), table: "message", row: id) else {
                continue
            }
            try insert(rowid: row[0], tokens: tokens(of: body, blind), statement)
        }
    }

    /// ``CacheRows/messageColumns``, of the table `message` (the search joins another).
    private static let messageColumns = CacheRows.messageColumns.split(separator: ",").map {
        "message." + $0.trimmingCharacters(in: .whitespaces)
    }.joined(separator: ", ")

    /// The messages matching `query`, best first: FTS5's candidates newest row first, each
    /// opened and checked, the first ``rankedWindow`` matches ranked by relevance then time.
    static func search(
        _ query: String, in conversation: ConversationID?, limit: Int, _ db: Database, _ cipher: FieldCipher,
        skipping skipped: UnreadableRows.Skipped
    ) throws -> [SearchHit] {
        let terms = SearchText.queryTerms(query)
        guard !terms.isEmpty, limit > 0 else { return [] }
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(messageColumns) FROM searchIndex JOIN message ON message.rowid = searchIndex.rowid
                WHERE searchIndex MATCH ?1 AND (?2 IS NULL OR message.conversationID = ?2)
                ORDER BY searchIndex.rowid DESC
                """)
        let rows = try Row.fetchCursor(
            statement, arguments: [match(terms, cipher.blindIndex), conversation?.rawValue])
        var matches: [(message: Message, relevance: Double)] = []
        let window = max(limit, rankedWindow)
        while matches.count < window, let row = try rows.next() {
            // A row that does not open is skipped and recorded, as every read does (UnreadableRows).
            let message: Message
            do {
                message = try CacheRows.message(row, cipher)
            } catch let error as PersistenceError where error == .undecodableRowCode {
                skipped.ids.append(row[0])
                continue
            }
            let relevance = SearchText.relevance(of: message.body, terms: terms)
            if relevance > 0 { matches.append((message, relevance)) }
        }
        matches.sort { a, b in
            a.relevance != b.relevance
                ? a.relevance > b.relevance : (a.message.createdAt, a.message.id) > (b.message.createdAt, b.message.id)
        }
        return matches.prefix(limit).map {
            SearchHit(message: $0.message, snippet: SearchText.snippet(of: $0.message.body, terms: terms))
        }
    }
}

extension SQLiteCacheStore {
    public func search(_ query: String, in conversation: ConversationID?, limit: Int) async throws -> [SearchHit] {
        let cipher = cipher
        let skipped = UnreadableRows.Skipped()
        let hits = try database.readHere { db in
            try SearchIndex.search(query, in: conversation, limit: limit, db, cipher, skipping: skipped)
        }
        unreadable.record(skipped.ids)
        return hits
    }
}
