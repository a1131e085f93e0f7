import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

extension SQLiteCacheStore {
    public func offers() async throws -> [SessionOffer] {
        let cipher = cipher
        return try database.readHere { db in try Self.offers(db, cipher) }
    }

    static func offers(_ db: Database, _ cipher: FieldCipher) throws -> [SessionOffer] {
        try CacheRows.all(
            db.cachedStatement(sql: "SELECT \(CacheRows.offerColumns) FROM offer ORDER BY createdAt DESC, id DESC")
        ) { try CacheRows.offer($0, cipher) }
    }

    public func offer(_ id: OfferID) async throws -> SessionOffer? {
        let cipher = cipher
        return try database.readHere { db in
            try Row.fetchOne(
                db, sql: "SELECT \(CacheRows.offerColumns) FROM offer WHERE id = ?", arguments: [id.rawValue]
            )
            .map { try CacheRows.offer($0, cipher) }
        }
    }

    public func session(_ id: SessionID) async throws -> Session? {
        let cipher = cipher
        return try database.readHere { db in try Self.session(id, db, cipher) }
    }

    static func session(_ id: SessionID, _ db: Database, _ cipher: FieldCipher) throws -> Session? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(CacheRows.sessionColumns) FROM session WHERE id = ?"),
            arguments: [id.rawValue]
        ).map { try CacheRows.session($0, cipher) }
    }

    public func upcomingSessions(at now: Date) async throws -> [Session] {
        let cipher = cipher
        return try database.readHere { db in try Self.upcomingSessions(db, cipher) }
    }

    /// Sessions that have not ended. A stored session ends only by Stop, so this does not depend
    /// on the time; the time-dependent part of a session is its countdown.
    @_spi(PlusGuidanceTools) public static func upcomingSessions(
        _ db: Database, _ cipher: FieldCipher
    ) throws -> [Session] {
        try CacheRows.all(
            db.cachedStatement(
                sql: "SELECT \(CacheRows.sessionColumns) FROM session WHERE endedAt IS NULL ORDER BY startsAt, id")
        ) { try CacheRows.session($0, cipher) }
    }
}
