import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

extension SQLiteCacheStore {
    public func syncState() async throws -> SyncState {
        try database.readHere(Self.syncState)
    }

    static func syncState(_ db: Database) throws -> SyncState {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT cursor, lastSyncAt, serverClockOffset, serverTimeBootID, serverTimeOffset,
                        serverTimeSampledAt
                    FROM syncState
                    """)
        else { return SyncState() }
        var serverTime: ServerTimeEstimate?
        if let boot: String = row[3], let offset: Double = row[4], let sampledAt: Double = row[5] {
            serverTime = ServerTimeEstimate(bootID: boot, offset: offset, sampledAt: sampledAt)
        }
        return SyncState(
            cursor: (row[0] as String?).map { FeedCursor(rawValue: $0) }, lastSyncAt: CacheRows.date(row[1]),
            serverTime: serverTime, serverClockOffset: row[2])
    }

    public func recordSync(at date: Date) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE syncState SET lastSyncAt = ?", arguments: [date.timeIntervalSinceReferenceDate])
        }
    }

    public func recordServerTime(_ estimate: ServerTimeEstimate, serverClockOffset: TimeInterval) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE syncState SET serverTimeBootID = ?, serverTimeOffset = ?, serverTimeSampledAt = ?,
                        serverClockOffset = ?
                    """,
                arguments: [estimate.bootID, estimate.offset, estimate.sampledAt, serverClockOffset])
        }
    }
}
