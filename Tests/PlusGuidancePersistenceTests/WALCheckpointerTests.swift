import Foundation
import GRDB
import Testing

@_spi(PlusGuidanceTools) @testable import PlusGuidancePersistence

/// The cache's WAL is checkpointed on a thread beside the writer (WALCheckpointer), which
/// replaces SQLite's checkpoint in the commit: it must still happen, and keep the WAL bounded.
@Suite struct WALCheckpointerTests {
    private static let limit = 64

    private func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    private func open(_ path: String) throws -> DatabasePool {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("rows") { try $0.execute(sql: "CREATE TABLE row (value BLOB NOT NULL)") }
        return try DatabaseOpener(
            path: path, migrator: migrator, durability: .normal, walAutocheckpointPages: Self.limit
        ).open()
    }

    /// Past the limit and below the writer's own threshold (four times it), only the
    /// checkpointer copies the WAL into the database file: no further commit is needed.
    @Test func aCheckpointRunsBesideTheWriterOnceTheWALPassesTheLimit() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/db.sqlite"
        let pool = try open(path)
        // Commits of 8 rows of a page each until the WAL first holds `limit` frames (a frame is
        // a page and its 24-byte header, after the 32-byte file header): the first checkpoint
        // is due and nothing has restarted the WAL yet.
        var rows = 0
        while (size(path + "-wal") - 32) / (4_096 + 24) < Self.limit {
            try await pool.write { db in
                for _ in 0..<8 { try db.execute(sql: "INSERT INTO row VALUES (randomblob(3000))") }
            }
            rows += 8
        }
        #expect(size(path + "-wal") < 4 * Self.limit * 4_096, "the writer's own threshold was not reached")
        let deadline = ContinuousClock.now + .seconds(60)
        while size(path) < rows * 4_096 {
            try #require(ContinuousClock.now < deadline, "the database file never got the WAL's pages")
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func pagesReachTheDatabaseFileWhileTheWALStaysBounded() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/db.sqlite"
        let pool = try open(path)
        // 1,600 pages in 200 commits of 8: without a checkpoint they would all stay in the WAL.
        var largestWAL = 0
        for _ in 0..<200 {
            try await pool.write { db in
                for _ in 0..<8 { try db.execute(sql: "INSERT INTO row VALUES (randomblob(3000))") }
            }
            largestWAL = max(largestWAL, size(path + "-wal"))
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while size(path) < 1_600 * 4_096 {
            try #require(ContinuousClock.now < deadline, "the database file never got the WAL's pages")
            try await Task.sleep(for: .milliseconds(10))
            // The writer's next transaction is the one that starts the WAL over.
            try await pool.write { try $0.execute(sql: "INSERT INTO row VALUES (x'00')") }
        }
        // The writer waits for the checkpointer and checkpoints itself at four times the limit;
        // one commit (8 pages and the pages of the table's tree) may come on top. A frame is a
        // page and its 24-byte header.
        #expect(largestWAL <= 32 + (4 * Self.limit + 16) * (4_096 + 24))
        #expect(try await pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM row") } ?? 0 >= 1_600)
        #expect(try await pool.read { try String.fetchOne($0, sql: "PRAGMA quick_check") } == "ok")
    }

    /// A checkpoint in another process (here, another connection) while the checkpointer works:
    /// one of them finds the other busy; nothing fails and nothing is lost.
    @Test func aCheckpointElsewhereMeanwhileLosesNothing() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/db.sqlite"
        let pool = try open(path)
        let other = try DatabaseQueue(path: path)
        for round in 0..<100 {
            try await pool.write { db in
                for _ in 0..<8 { try db.execute(sql: "INSERT INTO row VALUES (randomblob(3000))") }
            }
            if round % 10 == 0 { _ = try? await other.writeWithoutTransaction { try $0.checkpoint(.passive) } }
        }
        #expect(try await other.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM row") } == 800)
        #expect(try await other.read { try String.fetchOne($0, sql: "PRAGMA quick_check") } == "ok")
    }
}
