import Foundation
import GRDB
import HTTPTypes
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// `Idempotency-Key`: each command once per (user, key), single or in a batch, its answer
/// stored with its writes.
extension ServerStore {
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

    /// `body` inside a savepoint whose statements are prepared once per connection: GRDB's
    /// `inSavepoint` prepares `SAVEPOINT` and `RELEASE` again for every call, 7% of the server's
    /// time in a drain of batched texts (perf). GRDB still tracks the savepoint, as it does
    /// for any statement that opens or closes one.
    private static func inSavepoint<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "SAVEPOINT command").execute()
        let value: T
        do {
            value = try body()
        } catch {
            // After an error that ended the whole transaction, there is no savepoint left to
            // roll back: the caller's transaction fails with the command's error.
            if db.isInsideTransaction {
                try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT command").execute()
                try db.cachedStatement(sql: "RELEASE SAVEPOINT command").execute()
            }
            throw error
        }
        try db.cachedStatement(sql: "RELEASE SAVEPOINT command").execute()
        return value
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
            answer = try inSavepoint(db) { try command(db) }
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
}
