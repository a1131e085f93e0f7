import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

extension CacheSchema {
    /// Migration 0005: names, e-mail addresses and the details of offers and sessions sealed
    /// (``CacheRows``'s identity and details columns), e-mail addresses found by fingerprint,
    /// and the search index built over the cached bodies (``SearchIndex``). A cache that had any
    /// of these rows in clear is marked for the rewrite that leaves no plaintext page behind.
    static func sealIdentitiesAndIndex(_ db: Database, _ cipher: FieldCipher) throws {
        let hadRows = try ["account", "user", "offer", "session"].contains { table in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM \(table))")!
        }
        let users = try Row.fetchAll(db, sql: "SELECT id, email, name, role FROM user").map(plainUser)
        let account = try Row.fetchOne(db, sql: "SELECT id, email, name, role FROM account").map(plainUser)
        let offers = try Row.fetchAll(
            db,
            sql: """
                SELECT id, therapistID, clientID, type, startsAt, durationMinutes, requiresConfirmation, state,
                    createdAt, expiresAt, closedAt, sessionID FROM offer
                """
        ).map(plainOffer)
        let sessions = try Row.fetchAll(
            db,
            sql: """
                SELECT id, offerID, therapistID, clientID, type, startsAt, durationMinutes, endedAt, endedBy
                FROM session
                """
        ).map(plainSession)
        try db.execute(
            sql: """
                DROP TABLE account; DROP TABLE user; DROP TABLE offer; DROP TABLE session;
                CREATE TABLE account (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    id TEXT NOT NULL, identity BLOB NOT NULL, role TEXT NOT NULL);
                CREATE TABLE user (
                    id TEXT PRIMARY KEY, emailIndex BLOB NOT NULL, identity BLOB NOT NULL, role TEXT NOT NULL);
                CREATE INDEX user_by_email ON user (emailIndex);
                CREATE TABLE offer (
                    id TEXT PRIMARY KEY, therapistID TEXT NOT NULL, clientID TEXT NOT NULL, details BLOB NOT NULL,
                    startsAt REAL, state TEXT NOT NULL, createdAt REAL NOT NULL, expiresAt REAL NOT NULL,
                    closedAt REAL, sessionID TEXT);
                CREATE INDEX offer_by_creation ON offer (createdAt, id);
                CREATE TABLE session (
                    id TEXT PRIMARY KEY, offerID TEXT NOT NULL, therapistID TEXT NOT NULL, clientID TEXT NOT NULL,
                    details BLOB NOT NULL, startsAt REAL NOT NULL, endedAt REAL, endedBy TEXT);
                CREATE INDEX session_upcoming ON session (startsAt, id) WHERE endedAt IS NULL;
                """)
        if let account { try CacheRows.setAccount(account, db, cipher) }
        for user in users {
            try db.execute(sql: CacheRows.upsertUser, arguments: CacheRows.userArguments(user, cipher))
        }
        for offer in offers {
            try db.execute(sql: CacheRows.upsertOffer, arguments: CacheRows.offerArguments(offer, cipher))
        }
        for session in sessions {
            try db.execute(sql: CacheRows.upsertSession, arguments: CacheRows.sessionArguments(session, cipher))
        }
        try db.execute(sql: SearchIndex.createSQL)
        try SearchIndex.rebuild(db, cipher)
        if hadRows { try DatabaseOpener.markForRewrite(db) }
    }

    private static func plainUser(_ row: Row) throws -> User {
        User(
            id: UserID(rawValue: row[0]), email: row[1], name: row[2],
            role: try CacheRows.decode(Role.self, row[3], table: "user", column: "role"))
    }

    private static func plainOffer(_ row: Row) throws -> SessionOffer {
        SessionOffer(
            id: OfferID(rawValue: row[0]), therapistID: UserID(rawValue: row[1]), clientID: UserID(rawValue: row[2]),
            type: try CacheRows.decode(SessionType.self, row[3], table: "offer", column: "type"),
            startsAt: CacheRows.date(row[4]), durationMinutes: row[5], requiresConfirmation: row[6],
            state: try CacheRows.decode(SessionOffer.State.self, row[7], table: "offer", column: "state"),
            createdAt: Date(timeIntervalSinceReferenceDate: row[8]),
            expiresAt: Date(timeIntervalSinceReferenceDate: row[9]),
            closedAt: CacheRows.date(row[10]), sessionID: (row[11] as String?).map { SessionID(rawValue: $0) })
    }

    private static func plainSession(_ row: Row) throws -> Session {
        Session(
            id: SessionID(rawValue: row[0]), offerID: OfferID(rawValue: row[1]), therapistID: UserID(rawValue: row[2]),
            clientID: UserID(rawValue: row[3]),
            type: try CacheRows.decode(SessionType.self, row[4], table: "session", column: "type"),
            startsAt: Date(timeIntervalSinceReferenceDate: row[5]), durationMinutes: row[6],
            endedAt: CacheRows.date(row[7]), endedBy: (row[8] as String?).map { UserID(rawValue: $0) })
    }
}
