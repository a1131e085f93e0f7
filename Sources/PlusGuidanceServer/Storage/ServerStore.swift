import Foundation
import GRDB
import HTTPTypes
import NIOPosix
import PlusGuidanceDomain

/// An answer of a state-changing request, as stored for `Idempotency-Key` replays.
struct StoredAnswer: Sendable {
    var status: Int
    var contentType: String
    var body: Data
}

/// The reference server's state in SQLite, and every rule-enforcing command.
///
/// Each command runs in one write transaction that performs the Domain transition, its effects
/// (messages, sessions), the feed entries of everything it changed and, for requests carrying an
/// `Idempotency-Key`, the stored answer: either all of it commits or none does.
final class ServerStore: Sendable {
    let pool: DatabasePool
    let clock: ServerClock
    let configuration: ServerConfiguration
    let hasher: PasswordHasher
    /// Verified against when an e-mail is unknown: a hash of the configured cost that matches
    /// no password.
    private let unknownAccountHash: String
    /// Failed sign-ins per account and per address.
    let loginThrottle = LoginThrottle()

    init(configuration: ServerConfiguration, clock: ServerClock) throws {
        self.configuration = configuration
        self.clock = clock
        self.hasher = PasswordHasher(cost: configuration.passwordCost)
        let cost = configuration.passwordCost
        unknownAccountHash =
            "scrypt$\(cost.rounds)$\(cost.blockSize)$\(cost.parallelism)$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        pool = try DatabasePool(path: configuration.databasePath, configuration: config)
        try ServerSchema.migrator.migrate(pool)
        // A test clock starts at its fixed time on every start: moved past the latest change
        // already recorded, so that a restarted test server's time never runs backwards over
        // its own data (offers would expire, countdowns run, a second time).
        if let manual = clock.manual,
            let latest = try pool.read({ try Double.fetchOne($0, sql: "SELECT max(createdAt) FROM change") })
        {
            let behind = latest - clock.now().timeIntervalSinceReferenceDate
            if behind >= 0 { manual.advance(by: behind + 0.001) }
        }
        if configuration.seed == .demo { try seedDemo() }
    }

    // MARK: Accounts

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

    func login(email: String, password: String) async throws -> TokensWire {
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
        guard matches, let (user, _) = found else { throw APIError.invalidCredentials }
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

    // MARK: Idempotent commands

    /// Runs `command` once per (user, key): the first answer, success or refusal, is stored in
    /// the same transaction as the command's writes and replayed for every retry with the same
    /// key and request; the same key with another request is refused.
    func idempotent(
        user: UserID, key: String, requestHash: String,
        _ command: @escaping @Sendable (Database) throws -> StoredAnswer
    ) async throws -> (answer: StoredAnswer, replayed: Bool) {
        let now = clock.now()
        return try await pool.write { db in
            try Self.idempotent(db, user: user, key: key, requestHash: requestHash, at: now, command)
        }
    }

    /// Several idempotent commands in one transaction (one commit, one fsync), in order: the
    /// batch endpoint. Each is answered, stored and replayed exactly as its own request would be.
    /// An item behind a refused one of the same ordering key is skipped: `nil`, nothing stored.
    func idempotentBatch(
        user: UserID, _ items: [BatchItem]
    ) async throws -> [(answer: StoredAnswer, replayed: Bool)?] {
        let now = clock.now()
        return try await pool.write { db in
            var answers: [(answer: StoredAnswer, replayed: Bool)?] = []
            var refusedOrder: Set<String> = []
            for item in items {
                if let order = item.orderingKey, refusedOrder.contains(order) {
                    answers.append(nil)
                    continue
                }
                let result: (answer: StoredAnswer, replayed: Bool)
                do {
                    result = try Self.idempotent(
                        db, user: user, key: item.key, requestHash: item.requestHash, at: now, item.command)
                } catch let error as APIError where error.status.code < 500 {
                    // A key reused for another action: refused like its own request, not stored.
                    result = (try error.stored(), false)
                }
                if result.answer.status >= 300, let order = item.orderingKey { refusedOrder.insert(order) }
                answers.append(result)
            }
            return answers
        }
    }

    /// One item of ``idempotentBatch(user:_:)``.
    struct BatchItem: Sendable {
        var key: String
        var requestHash: String
        /// Items with the same ordering key (a conversation's messages) keep their order: after
        /// one is refused, the later ones are skipped, as a client sending one at a time would
        /// stop there.
        var orderingKey: String?
        var command: @Sendable (Database) throws -> StoredAnswer
    }

    /// Runs `command` once per (user, key) inside the caller's transaction: a known key with the
    /// same fingerprint answers from the stored answer; with another fingerprint it is refused.
    private static func idempotent(
        _ db: Database, user: UserID, key: String, requestHash: String, at now: Date,
        _ command: (Database) throws -> StoredAnswer
    ) throws -> (answer: StoredAnswer, replayed: Bool) {
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT requestHash, status, body FROM idempotency WHERE userID = ? AND key = ?"),
            arguments: [user.rawValue, key])
        {
            guard (row[0] as String) == requestHash else { throw APIError.idempotencyKeyReused }
            let status: Int = row[1]
            return (
                StoredAnswer(
                    status: status, contentType: status < 300 ? "application/json" : "application/problem+json",
                    body: row[2]), true
            )
        }
        var answer: StoredAnswer
        do {
            // A savepoint, so a command that fails halfway leaves no partial write behind
            // while its refusal is still stored below.
            var result: StoredAnswer?
            try db.inSavepoint {
                result = try command(db)
                return .commit
            }
            answer = result!
        } catch let error as DomainError {
            answer = try APIError(error).stored()
        } catch let error as APIError where error.status.code < 500 {
            answer = try error.stored()
        }
        try db.cachedStatement(
            sql: "INSERT INTO idempotency (userID, key, requestHash, status, body, createdAt) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(
            arguments: [
                user.rawValue, key, requestHash, answer.status, answer.body, now.timeIntervalSinceReferenceDate,
            ])
        return (answer, false)
    }

    // MARK: Commands (inside a write transaction)

    func sendMessage(_ db: Database, from user: User, to peer: UserID, id: String?, body: String) throws -> Message {
        guard let relation = try Self.relation(user, peer, db) else { throw APIError.notFound }
        let messageID = MessageID(id ?? BearerToken.identifier("msg"))
        if try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM message WHERE id = ?)"),
            arguments: [messageID.rawValue])
            == true
        {
            throw APIError.messageIDTaken
        }
        let message = try Message.text(
            id: messageID, from: user.id, to: peer, within: relation, body: body,
            at: try Self.nextMessageTime(in: relation.conversationID, now: clock.now(), db))
        try ServerRows.insert(message, db)
        try record(.message(message), in: relation, db)
        return message
    }

    func createOffer(
        _ db: Database, by user: User, to client: UserID, options: OfferOptions, clientIsOnline: Bool
    ) throws
        -> SessionOffer
    {
        let relation = user.role == .therapist ? try Self.relation(user, client, db) : nil
        let (offer, effects) = try SessionOffer.make(
            id: OfferID(BearerToken.identifier("off")), by: user, to: client, relation: relation,
            clientIsOnline: clientIsOnline, options: options, at: clock.now())
        try ServerRows.save(offer, db)
        try record(.offer(offer), in: offer.relation, db)
        try perform(effects, db)
        return offer
    }

    func answer(_ db: Database, offer id: OfferID, by user: User, accept: Bool) throws -> (SessionOffer, Session?) {
        guard var offer = try Self.offer(id, db), offer.relation.includes(user.id) else { throw APIError.notFound }
        let now = clock.now()
        let expiry = offer.expireIfDue(at: now)
        if !expiry.isEmpty {
            // Stored even though the answer is refused: server time decided the offer expired.
            try ServerRows.save(offer, db)
            try record(.offer(offer), in: offer.relation, db)
            try perform(expiry, db)
        }
        let effects = try accept ? offer.accept(by: user.id, at: now) : offer.decline(by: user.id, at: now)
        try ServerRows.save(offer, db)
        try record(.offer(offer), in: offer.relation, db)
        try perform(effects, db)
        return (offer, try offer.sessionID.flatMap { try Self.session($0, db) })
    }

    func stop(_ db: Database, session id: SessionID, by user: User) throws -> Session {
        guard var session = try Self.session(id, db), session.relation.includes(user.id) else {
            throw APIError.notFound
        }
        let effects = try session.stop(by: user.id, at: clock.now())
        try ServerRows.save(session, db)
        try record(.session(session), in: session.relation, db)
        try perform(effects, db)
        return session
    }

    /// Expires every pending offer past its deadline (R4: even if nobody asks). Returns how many.
    func expireDueOffers() async throws -> Int {
        let now = clock.now()
        return try await pool.write { db in
            let due = try Row.fetchAll(
                db, sql: "SELECT \(ServerRows.offer) FROM offer WHERE state = 'pending' AND expiresAt < ?",
                arguments: [now.timeIntervalSinceReferenceDate]
            ).map(ServerRows.offer)
            for var offer in due {
                let effects = offer.expireIfDue(at: now)
                try ServerRows.save(offer, db)
                try self.record(.offer(offer), in: offer.relation, db)
                try self.perform(effects, db)
            }
            return due.count
        }
    }

    /// Performs a transition's effects with server ids and server time.
    func perform(_ effects: [DomainEffect], _ db: Database) throws {
        let now = clock.now()
        for effect in effects {
            switch effect {
            case .postMessage(let draft):
                let message = draft.message(
                    id: MessageID(BearerToken.identifier("msg")),
                    createdAt: try Self.nextMessageTime(in: draft.conversationID, now: now, db))
                try ServerRows.insert(message, db)
                try record(.message(message), in: message.conversationID.relation, db)
            case .createSession(let session):
                try ServerRows.save(session, db)
                try record(.session(session), in: session.relation, db)
            }
        }
    }

    /// The creation time of a new message: now, or one millisecond after the conversation's
    /// latest message when that is not earlier. Times in a conversation are then strictly
    /// increasing, so "newest first" is the order of creation on every device, even for the
    /// messages one transition posts in the same millisecond.
    static func nextMessageTime(in conversation: ConversationID, now: Date, _ db: Database) throws -> Date {
        let latest = try Double.fetchOne(
            db.cachedStatement(sql: "SELECT max(createdAt) FROM message WHERE conversationID = ?"),
            arguments: [conversation.rawValue])
        guard let latest, latest >= now.timeIntervalSinceReferenceDate else { return now }
        let next = Date(timeIntervalSinceReferenceDate: latest) + 0.001
        return Date(timeIntervalSince1970: (next.timeIntervalSince1970 * 1_000).rounded() / 1_000)
    }

    // MARK: Feed

    /// Appends a change to the feed, visible to the two people of `relation`.
    func record(_ change: Change, in relation: CareRelation, _ db: Database) throws {
        let now = clock.now()
        let (entity, id, deleted): (String, String, Bool) =
            switch change {
            case .user(let value): ("user", value.id.rawValue, false)
            case .message(let value): ("message", value.id.rawValue, false)
            case .offer(let value): ("offer", value.id.rawValue, false)
            case .session(let value): ("session", value.id.rawValue, false)
            case .deleted(.user(let id)): ("user", id.rawValue, true)
            case .deleted(.message(let id)): ("message", id.rawValue, true)
            case .deleted(.offer(let id)): ("offer", id.rawValue, true)
            case .deleted(.session(let id)): ("session", id.rawValue, true)
            }
        let wire = ChangeWire(change, at: now)
        let payload = deleted ? nil : String(decoding: try JSONEncoder().encode(wire), as: UTF8.self)
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

extension ChangeWire {
    init(_ change: Change, at now: Date) {
        switch change {
        case .user(let value): self.init(entity: "user", id: value.id.rawValue, op: "upsert", user: UserWire(value))
        case .message(let value):
            self.init(entity: "message", id: value.id.rawValue, op: "upsert", message: MessageWire(value))
        case .offer(let value): self.init(entity: "offer", id: value.id.rawValue, op: "upsert", offer: OfferWire(value))
        case .session(let value):
            self.init(entity: "session", id: value.id.rawValue, op: "upsert", session: SessionWire(value, at: now))
        case .deleted(let reference):
            switch reference {
            case .user(let id): self.init(entity: "user", id: id.rawValue, op: "delete")
            case .message(let id): self.init(entity: "message", id: id.rawValue, op: "delete")
            case .offer(let id): self.init(entity: "offer", id: id.rawValue, op: "delete")
            case .session(let id): self.init(entity: "session", id: id.rawValue, op: "delete")
            }
        }
    }
}

extension APIError {
    func stored() throws -> StoredAnswer {
        var object: [String: Any] = [
            "type": "https://plusguidance.example/problems/\(code)", "title": title, "status": Int(status.code),
            "code": code,
        ]
        if let detail { object["detail"] = detail }
        return StoredAnswer(
            status: Int(status.code), contentType: "application/problem+json",
            body: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
}
