import Foundation
import GRDB
import NIOPosix
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

/// Accounts and tokens: the demo seed, sign-in (throttled, the same time for unknown accounts),
/// refresh with reuse detection, authentication and sign-out.
extension ServerStore {
    func seedDemo() throws {
        let people: [(String, String, String, Role, String?)] = [
            ("usr_therapist", "therapist@example.com", "Theo Therapist", .therapist, nil),
            ("usr_alice", "alice@example.com", "Alice", .client, "usr_therapist"),
            ("usr_bob", "bob@example.com", "Bob", .client, "usr_therapist"),
            ("usr_other", "other@example.com", "Olga Other", .therapist, nil),
            ("usr_carol", "carol@example.com", "Carol", .client, "usr_other"),
        ]
        for (id, email, name, role, therapist) in people {
            let password = String(email.prefix { $0 != "@" }) + "-pass"
            try createUser(User(id: UserID(id), email: email, name: name, role: role), password: password)
            if let therapist { try relate(therapist: UserID(therapist), client: UserID(id)) }
        }
    }

    /// 30 more clients of the demo's therapist (``ServerConfiguration/Seed/practice``).
    func seedPractice() throws {
        for index in 1...30 {
            let number = index < 10 ? "0\(index)" : "\(index)"
            let user = User(
                id: UserID("usr_client\(number)"), email: "client\(number)@example.com", name: "Client \(number)",
                role: .client)
            try createUser(user, password: "client\(number)-pass")
            try relate(therapist: UserID("usr_therapist"), client: user.id)
        }
    }

    /// Creates `user` unless a user with that e-mail exists.
    func createUser(_ user: User, password: String) throws {
        let exists = try pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM user WHERE email = ?)", arguments: [user.email])
        }
        guard exists != true else { return }
        let hash = try hasher.hash(password)
        try pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO user (id, email, name, role, passwordHash) VALUES (?, ?, ?, ?, ?)",
                arguments: [user.id.rawValue, user.email, user.name, user.role.rawValue, hash])
        }
    }

    /// Makes `client` a client of `therapist` and tells both through the feed.
    func relate(therapist: UserID, client: UserID) throws {
        try pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO relation (therapistID, clientID) VALUES (?, ?)",
                arguments: [therapist.rawValue, client.rawValue])
            guard db.changesCount == 1 else { return }
            let relation = CareRelation(therapistID: therapist, clientID: client)
            for id in [therapist, client] {
                if let user = try Self.user(id, db) {
                    try record(.user(user), in: relation, db)
                }
            }
        }
    }

    static func user(_ id: UserID, _ db: Database) throws -> User? {
        try Row.fetchOne(db, sql: "SELECT id, email, name, role FROM user WHERE id = ?", arguments: [id.rawValue])
            .map(ServerRows.user)
    }

    /// A new sign-in, or `nil` when the e-mail or the password is wrong.
    func login(email: String, password: String) async throws -> TokensWire? {
        let found: (User, String)? = try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT id, email, name, role, passwordHash FROM user WHERE email = ?", arguments: [email]
            )
            .map { (try ServerRows.user($0), $0[4]) }
        }
        // Hash even when the e-mail is unknown, at the same cost as a real account's hash, so
        // timing does not tell which e-mails exist. Hashing runs on NIO's blocking-work pool,
        // never on the threads that serve other requests.
        let stored = found?.1 ?? unknownAccountHash
        let hasher = self.hasher
        let matches = try await NIOThreadPool.singleton.runIfActive { hasher.verify(password, against: stored) }
        guard matches, let (user, _) = found else { return nil }
        return try await issueTokens(for: user, family: BearerToken.identifier("fam"))
    }

    private func issueTokens(for user: User, family: String) async throws -> TokensWire {
        let access = BearerToken.make(prefix: "pga_")
        let refresh = BearerToken.make(prefix: "pgr_")
        let now = clock.now()
        let accessLifetime = configuration.accessTokenLifetime
        let refreshLifetime = configuration.refreshTokenLifetime
        try await pool.write { db in
            let insert = "INSERT INTO token (hash, userID, kind, family, expiresAt) VALUES (?, ?, ?, ?, ?)"
            try db.execute(
                sql: insert,
                arguments: [
                    BearerToken.digest(access), user.id.rawValue, "access", family,
                    (now + accessLifetime).timeIntervalSinceReferenceDate,
                ])
            try db.execute(
                sql: insert,
                arguments: [
                    BearerToken.digest(refresh), user.id.rawValue, "refresh", family,
                    (now + refreshLifetime).timeIntervalSinceReferenceDate,
                ])
        }
        return TokensWire(
            accessToken: access, refreshToken: refresh, expiresIn: Int(accessLifetime),
            refreshExpiresIn: Int(refreshLifetime),
            user: UserWire(user))
    }

    /// Rotates a refresh token. Presenting a refresh token that was already used revokes its
    /// whole family: one of the two holders is not the user.
    func refresh(_ token: String) async throws -> TokensWire {
        let now = clock.now()
        let digest = BearerToken.digest(token)
        let outcome: (User, String)? = try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT userID, family, expiresAt, used FROM token WHERE hash = ? AND kind = 'refresh'",
                    arguments: [digest])
            else { return nil }
            let family: String = row[1]
            let used: Bool = row[3]
            let expiresAt: Double = row[2]
            if used {
                try db.execute(sql: "DELETE FROM token WHERE family = ?", arguments: [family])
                return nil
            }
            guard expiresAt > now.timeIntervalSinceReferenceDate, let user = try Self.user(UserID(rawValue: row[0]), db)
            else { return nil }
            try db.execute(sql: "UPDATE token SET used = 1 WHERE hash = ?", arguments: [digest])
            try db.execute(sql: "DELETE FROM token WHERE family = ? AND kind = 'access'", arguments: [family])
            return (user, family)
        }
        guard let (user, family) = outcome else { throw APIError.invalidRefreshToken }
        return try await issueTokens(for: user, family: family)
    }

    /// The user an access token belongs to.
    /// - Throws: ``APIError/unauthorized`` for unknown tokens, ``APIError/tokenExpired``.
    func authenticate(_ token: String) async throws -> (User, family: String) {
        let now = clock.now()
        let digest = BearerToken.digest(token)
        let found: (User, Double, String)? = try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT user.id, user.email, user.name, user.role, token.expiresAt, token.family
                    FROM token JOIN user ON user.id = token.userID WHERE token.hash = ? AND token.kind = 'access'
                    """, arguments: [digest]
            ).map { (try ServerRows.user($0), $0[4], $0[5]) }
        }
        guard let (user, expiresAt, family) = found else { throw APIError.unauthorized }
        guard expiresAt > now.timeIntervalSinceReferenceDate else { throw APIError.tokenExpired }
        return (user, family)
    }

    /// Revokes every token of the family (this sign-in on this device).
    func logout(family: String) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM token WHERE family = ?", arguments: [family]) }
    }
}
