import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

// The account and its contacts: their names and e-mail addresses are sealed (R10), so ordering
// by name happens here after opening, and an e-mail address is found by its fingerprint.

extension SQLiteCacheStore {
    public func account() async throws -> User? {
        let cipher = cipher
        return try database.readHere { db in try Self.account(db, cipher) }
    }

    static func account(_ db: Database, _ cipher: FieldCipher) throws -> User? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT id, identity, role FROM account")).map {
            try CacheRows.user($0, cipher, table: "account")
        }
    }

    public func setAccount(_ user: User) async throws {
        let cipher = cipher
        try await database.write { db in try CacheRows.setAccount(user, db, cipher) }
    }

    public func contacts() async throws -> [Contact] {
        let cipher = cipher
        return try database.readHere { db in try Self.contacts(db, cipher) }
    }

    /// The contacts by name (then id), each with its conversation's unread count.
    static func contacts(_ db: Database, _ cipher: FieldCipher) throws -> [Contact] {
        var contacts = try CacheRows.all(
            db.cachedStatement(
                sql: """
                    SELECT user.id, user.identity, user.role, presence.online, presence.lastSeenAt
                    FROM user LEFT JOIN presence ON presence.userID = user.id
                    WHERE user.id IS NOT (SELECT id FROM account)
                    """)
        ) { row in
            let user = try CacheRows.user(row, cipher)
            return Contact(
                user: user,
                presence: Presence(userID: user.id, isOnline: row[3] ?? false, lastSeenAt: CacheRows.date(row[4])))
        }
        // SQLite's BINARY order of the names, as before they were sealed: UTF-8 byte order.
        contacts.sort { a, b in
            a.user.name.utf8.elementsEqual(b.user.name.utf8)
                ? a.id < b.id : a.user.name.utf8.lexicographicallyPrecedes(b.user.name.utf8)
        }
        // Each conversation's unread count, by the account's stored read position.
        guard let account = try account(db, cipher) else { return contacts }
        for index in contacts.indices {
            let conversation = CareRelation(user: account, peer: contacts[index].id).conversationID
            contacts[index].unread = try unreadCount(in: conversation, for: account.id, readUpTo: nil, db)
        }
        return contacts
    }

    /// The contact whose e-mail address is `email` (any case), found by its fingerprint.
    public func contact(email: String) async throws -> UserID? {
        let fingerprint = cipher.blindIndex.email(email)
        return try database.readHere { db in
            try String.fetchOne(
                db.cachedStatement(
                    sql: "SELECT id FROM user WHERE emailIndex = ? AND id IS NOT (SELECT id FROM account)"),
                arguments: [fingerprint]
            ).map { UserID(rawValue: $0) }
        }
    }

    public func isContact(_ id: UserID) async throws -> Bool {
        try database.readHere { db in
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: "SELECT EXISTS (SELECT 1 FROM user WHERE id = ?1 AND ?1 IS NOT (SELECT id FROM account))"),
                arguments: [id.rawValue]) ?? false
        }
    }
}
