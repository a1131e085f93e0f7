import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

// Rows whose details are sealed (R10): a person's e-mail address and name, an offer's and a
// session's type and length. Ids, times and states stay in clear for the queries; an e-mail
// address is found by its keyed fingerprint (``BlindIndex/email(_:)``).

extension CacheRows {
    static let offerColumns =
        "id, therapistID, clientID, details, startsAt, state, createdAt, expiresAt, closedAt, sessionID"
    static let sessionColumns = "id, offerID, therapistID, clientID, details, startsAt, endedAt, endedBy"
    static let userColumns = "id, identity, role"

    static let upsertOffer = upsertSQL("offer", offerColumns)
    static let upsertSession = upsertSQL("session", sessionColumns)
    static let upsertUser = upsertSQL("user", "id, emailIndex, identity, role")

    /// The sealed identity of a user: e-mail address and name as a JSON array.
    static func sealIdentity(_ user: User, table: String, _ cipher: FieldCipher) throws -> Data {
        let json = try JSONSerialization.data(withJSONObject: [user.email, user.name])
        return try cipher.seal(json, table: table, row: user.id.rawValue)
    }

    /// Stores the account (table `account`, one row), its identity sealed.
    static func setAccount(_ user: User, _ db: Database, _ cipher: FieldCipher) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO account (singleton, id, identity, role) VALUES (1, ?, ?, ?)",
            arguments: [user.id.rawValue, try sealIdentity(user, table: "account", cipher), user.role.rawValue])
    }

    /// The user of a row `id, identity, role` of `table` (`user`, or `account`).
    static func user(_ row: Row, _ cipher: FieldCipher, table: String = "user") throws -> User {
        let id: String = row[0]
        let opened = try cipher.open(row[1] as Data? ?? Data(), table: table, row: id)
        guard let fields = try? JSONSerialization.jsonObject(with: opened) as? [String], fields.count == 2 else {
            throw PersistenceError.undecodable(table, column: "identity")
        }
        return User(
            id: UserID(rawValue: id), email: fields[0], name: fields[1],
            role: try decode(Role.self, row[2], table: table, column: "role"))
    }

    static func userArguments(_ user: User, _ cipher: FieldCipher) throws -> StatementArguments {
        [
            user.id.rawValue, cipher.blindIndex.email(user.email), try sealIdentity(user, table: "user", cipher),
            user.role.rawValue,
        ]
    }

    /// `type \n minutes \n confirmation`, sealed.
    static func offerArguments(_ o: SessionOffer, _ cipher: FieldCipher) throws -> StatementArguments {
        let details = "\(o.type.rawValue)\n\(o.durationMinutes)\n\(o.requiresConfirmation ? 1 : 0)"
        return [
            o.id.rawValue, o.therapistID.rawValue, o.clientID.rawValue,
            try cipher.sealString(details, table: "offer", row: o.id.rawValue),
            o.startsAt?.timeIntervalSinceReferenceDate, o.state.rawValue,
            o.createdAt.timeIntervalSinceReferenceDate, o.expiresAt.timeIntervalSinceReferenceDate,
            o.closedAt?.timeIntervalSinceReferenceDate, o.sessionID?.rawValue,
        ]
    }

    static func offer(_ row: Row, _ cipher: FieldCipher) throws -> SessionOffer {
        let id: String = row[0]
        let details = try openDetails(row[3], count: 3, table: "offer", row: id, cipher)
        guard let minutes = Int(details[1]), let confirmation = Int(details[2]) else {
            throw PersistenceError.undecodable("offer", column: "details")
        }
        return SessionOffer(
            id: OfferID(rawValue: id), therapistID: UserID(rawValue: row[1]), clientID: UserID(rawValue: row[2]),
            type: try decode(SessionType.self, String(details[0]), table: "offer", column: "details"),
            startsAt: date(row[4]), durationMinutes: minutes, requiresConfirmation: confirmation != 0,
            state: try decode(SessionOffer.State.self, row[5], table: "offer", column: "state"),
            createdAt: Date(timeIntervalSinceReferenceDate: row[6]),
            expiresAt: Date(timeIntervalSinceReferenceDate: row[7]),
            closedAt: date(row[8]), sessionID: (row[9] as String?).map { SessionID(rawValue: $0) })
    }

    /// `type \n minutes`, sealed.
    static func sessionArguments(_ s: Session, _ cipher: FieldCipher) throws -> StatementArguments {
        [
            s.id.rawValue, s.offerID.rawValue, s.therapistID.rawValue, s.clientID.rawValue,
            try cipher.sealString("\(s.type.rawValue)\n\(s.durationMinutes)", table: "session", row: s.id.rawValue),
            s.startsAt.timeIntervalSinceReferenceDate, s.endedAt?.timeIntervalSinceReferenceDate, s.endedBy?.rawValue,
        ]
    }

    static func session(_ row: Row, _ cipher: FieldCipher) throws -> Session {
        let id: String = row[0]
        let details = try openDetails(row[4], count: 2, table: "session", row: id, cipher)
        guard let minutes = Int(details[1]) else { throw PersistenceError.undecodable("session", column: "details") }
        return Session(
            id: SessionID(rawValue: id), offerID: OfferID(rawValue: row[1]), therapistID: UserID(rawValue: row[2]),
            clientID: UserID(rawValue: row[3]),
            type: try decode(SessionType.self, String(details[0]), table: "session", column: "details"),
            startsAt: Date(timeIntervalSinceReferenceDate: row[5]), durationMinutes: minutes, endedAt: date(row[6]),
            endedBy: (row[7] as String?).map { UserID(rawValue: $0) })
    }

    private static func openDetails(
        _ sealed: Data?, count: Int, table: String, row: String, _ cipher: FieldCipher
    ) throws -> [Substring] {
        let fields = try cipher.openString(sealed ?? Data(), table: table, row: row).split(
            separator: "\n", omittingEmptySubsequences: false)
        guard fields.count == count else { throw PersistenceError.undecodable(table, column: "details") }
        return fields
    }
}
