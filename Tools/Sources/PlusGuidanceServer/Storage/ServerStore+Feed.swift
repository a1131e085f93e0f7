import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

/// The change feed: what each command recorded, paged per person by cursor, and pruned.
extension ServerStore {
    /// Appends a change to the feed, visible to the two people of `relation`. `encoded` is the
    /// changed entity's JSON when the caller has it already (a text's answer): spliced into the
    /// entry as `ChangeWire` would encode it, not encoded a second time.
    func record(_ change: Change, in relation: CareRelation, encoded: Data? = nil, _ db: Database) throws {
        let now = clock.now()
        let (entity, id, deleted): (String, String, Bool) =
            switch change {
            case .user(let value): ("user", value.id.rawValue, false)
            case .message(let value): ("message", value.id.rawValue, false)
            case .offer(let value): ("offer", value.id.rawValue, false)
            case .session(let value): ("session", value.id.rawValue, false)
            case .read(let value): ("read", ReadPositionWire.entityID(value.conversationID, value.readerID), false)
            case .deleted(.user(let id)): ("user", id.rawValue, true)
            case .deleted(.message(let id)): ("message", id.rawValue, true)
            case .deleted(.offer(let id)): ("offer", id.rawValue, true)
            case .deleted(.session(let id)): ("session", id.rawValue, true)
            }
        let payload: String? =
            if deleted {
                nil
            } else if let encoded {
                // ChangeWire's members in its order; the entity's member is named as the entity.
                #"{"entity":"# + CanonicalJSON.string(entity) + #","id":"# + CanonicalJSON.string(id)
                    + #","op":"upsert",""# + entity + #"":"# + String(decoding: encoded, as: UTF8.self) + "}"
            } else {
                String(decoding: try JSONEncoder().encode(ChangeWire(change, at: now)), as: UTF8.self)
            }
        try db.cachedStatement(
            sql:
                "INSERT INTO change (therapistID, clientID, entity, entityID, deleted, payload, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [
            relation.therapistID.rawValue, relation.clientID.rawValue, entity, id, deleted, payload,
            now.timeIntervalSinceReferenceDate,
        ])
    }

    static func cursor(_ seq: Int64) -> String { "c\(seq)" }

    static func sequence(of cursor: String) -> Int64? {
        guard cursor.first == "c" else { return nil }
        return Int64(cursor.dropFirst())
    }

    /// A page of `user`'s changes after `cursor` (from the start when `nil`), as the JSON of a
    /// `FeedPage`. Stored payloads are spliced in as they are, not decoded and encoded again:
    /// the feed is the hot path of every initial sync.
    /// With `countRemaining`, the page also says how many changes follow it (`remaining`), one
    /// index range count, for a client's progress total.
    /// - Throws: ``APIError/cursorTooOld`` when the cursor is malformed, pruned or unknown.
    func feed(for user: User, after cursor: String?, limit: Int, countRemaining: Bool = false) async throws -> Data {
        try await pool.read { db in
            let prunedThrough = try Int64.fetchOne(db, sql: "SELECT prunedThrough FROM feedMeta") ?? 0
            let latest = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'change'") ?? 0
            var after: Int64 = 0
            if let cursor {
                guard let seq = Self.sequence(of: cursor), seq >= prunedThrough, seq <= latest else {
                    throw APIError.cursorTooOld
                }
                after = seq
            }
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT seq, entity, entityID, deleted, payload FROM change
                        WHERE \(Self.ownColumn(user)) = ? AND seq > ? ORDER BY seq LIMIT ?
                        """), arguments: [user.id.rawValue, after, limit + 1])
            var json = Data("{\"changes\":[".utf8)
            var count = 0
            var last = after
            var hasMore = false
            while let row = try rows.next() {
                guard count < limit else {
                    hasMore = true
                    break
                }
                if count > 0 { json.append(UInt8(ascii: ",")) }
                json.append(try Self.changeJSON(row))
                last = row[0]
                count += 1
            }
            // With nothing new, the cursor moves to the latest sequence so the next call is cheap.
            if count == 0 { last = max(after, latest) }
            json.append(Data("],\"cursor\":\"\(Self.cursor(last))\",\"hasMore\":\(hasMore)".utf8))
            if countRemaining {
                let remaining =
                    hasMore
                    ? try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM change WHERE \(Self.ownColumn(user)) = ? AND seq > ?",
                        arguments: [user.id.rawValue, last]) ?? 0 : 0
                json.append(Data(",\"remaining\":\(remaining)".utf8))
            }
            json.append(UInt8(ascii: "}"))
            return json
        }
    }

    /// The JSON of one change row: its stored payload, or a deletion.
    static func changeJSON(_ row: Row) throws -> Data {
        let deleted: Bool = row[3]
        if deleted {
            let object = ["entity": row[1] as String, "id": row[2] as String, "op": "delete"]
            return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        }
        let payload: String = row[4]
        return Data(payload.utf8)
    }

    /// The changes of `user` after sequence `after`, for the event stream.
    func changes(for user: User, after: Int64, limit: Int = 500) async throws -> [(Int64, String)] {
        try await pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT seq, entity, entityID, deleted, payload FROM change
                        WHERE \(Self.ownColumn(user)) = ? AND seq > ? ORDER BY seq LIMIT ?
                        """), arguments: [user.id.rawValue, after, limit]
            ).map { (($0[0] as Int64), String(decoding: try Self.changeJSON($0), as: UTF8.self)) }
        }
    }

    func latestSequence() async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'change'") ?? 0
        }
    }

    /// Drops feed entries older than the retention that a later entry of the same entity
    /// supersedes, and old deletions; cursors from before the newest dropped entry become too
    /// old. A full sync (no cursor) still sees the latest state of every entity. Also drops
    /// idempotency answers past their retention.
    func prune() async throws {
        let now = clock.now()
        let feedCutoff = (now - configuration.feedRetention).timeIntervalSinceReferenceDate
        let keyCutoff = (now - configuration.idempotencyRetention).timeIntervalSinceReferenceDate
        try await pool.write { db in
            let doomed = """
                FROM change WHERE createdAt < ?1 AND (deleted = 1 OR EXISTS (
                    SELECT 1 FROM change AS later WHERE later.entity = change.entity
                    AND later.entityID = change.entityID AND later.seq > change.seq))
                """
            if let newest = try Int64.fetchOne(db, sql: "SELECT max(seq) \(doomed)", arguments: [feedCutoff]) {
                try db.execute(sql: "DELETE \(doomed)", arguments: [feedCutoff])
                try db.execute(sql: "UPDATE feedMeta SET prunedThrough = max(prunedThrough, ?)", arguments: [newest])
            }
            try db.execute(sql: "DELETE FROM idempotency WHERE createdAt < ?", arguments: [keyCutoff])
            try db.execute(
                sql: "DELETE FROM token WHERE expiresAt < ?", arguments: [now.timeIntervalSinceReferenceDate])
        }
    }
}
