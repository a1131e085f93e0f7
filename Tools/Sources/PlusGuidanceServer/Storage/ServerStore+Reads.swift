import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// Who may see whom (R1) and the reads every route answers from.
extension ServerStore {
    // MARK: Relations

    /// The pair `user` forms with `peer`, or `nil` when they are not a therapist and their client.
    static func relation(_ user: User, _ peer: UserID, _ db: Database) throws -> CareRelation? {
        let relation = CareRelation(user: user, peer: peer)
        let exists = try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM relation WHERE therapistID = ? AND clientID = ?)"),
            arguments: [relation.therapistID.rawValue, relation.clientID.rawValue])
        return exists == true ? relation : nil
    }

    /// The people `user` may talk to: a therapist's clients, or a client's therapist.
    func contacts(of user: User) async throws -> [User] {
        try await pool.read { db in
            let column = user.role == .therapist ? ("clientID", "therapistID") : ("therapistID", "clientID")
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT user.id, user.email, user.name, user.role FROM relation
                    JOIN user ON user.id = relation.\(column.0) WHERE relation.\(column.1) = ? ORDER BY user.name, user.id
                    """, arguments: [user.id.rawValue]
            ).map(ServerRows.user)
        }
    }

    // MARK: Reads

    func messages(for user: User, peer: UserID, limit: Int, before: MessageID?) async throws -> ([Message], Bool) {
        try await pool.read { db in
            guard let relation = try Self.relation(user, peer, db) else { throw APIError.notFound }
            var sql = "SELECT \(ServerRows.message) FROM message WHERE conversationID = ?1"
            if before != nil {
                sql +=
                    " AND (createdAt, id) < (SELECT createdAt, id FROM message WHERE id = ?2 AND conversationID = ?1)"
            }
            sql += " ORDER BY createdAt DESC, id DESC LIMIT ?3"
            let rows = try Row.fetchAll(
                db, sql: sql, arguments: [relation.conversationID.rawValue, before?.rawValue, limit + 1])
            let messages = try rows.prefix(limit).map(ServerRows.message)
            return (messages, rows.count > limit)
        }
    }

    static func ownColumn(_ user: User) -> String { user.role == .therapist ? "therapistID" : "clientID" }

    func offers(for user: User) async throws -> [SessionOffer] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT \(ServerRows.offer) FROM offer WHERE \(Self.ownColumn(user)) = ? ORDER BY createdAt DESC, id DESC",
                arguments: [user.id.rawValue]
            ).map(ServerRows.offer)
        }
    }

    func session(_ id: SessionID, for user: User) async throws -> Session {
        try await pool.read { db in
            guard let session = try Self.session(id, db), session.relation.includes(user.id) else {
                throw APIError.notFound
            }
            return session
        }
    }

    static func session(_ id: SessionID, _ db: Database) throws -> Session? {
        try Row.fetchOne(db, sql: "SELECT \(ServerRows.session) FROM session WHERE id = ?", arguments: [id.rawValue])
            .map(ServerRows.session)
    }

    static func offer(_ id: OfferID, _ db: Database) throws -> SessionOffer? {
        try Row.fetchOne(db, sql: "SELECT \(ServerRows.offer) FROM offer WHERE id = ?", arguments: [id.rawValue])
            .map(ServerRows.offer)
    }

    func upcomingSessions(for user: User) async throws -> [Session] {
        let now = clock.now()
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(ServerRows.session) FROM session WHERE \(Self.ownColumn(user)) = ? AND endedAt IS NULL",
                arguments: [user.id.rawValue]
            ).map(ServerRows.session).upcoming(at: now)
        }
    }
}
