import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import Testing

@testable import PlusGuidanceServer

/// A command that is refused after it has written: its writes are rolled back (the savepoint),
/// its refusal is stored under its key and replayed, and the batch's other commands stand.
@Suite struct IdempotentCommandTests {
    @Test func aCommandRefusedHalfwayLeavesNothingButItsStoredRefusal() async throws {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-idempotent-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try ServerStore(
            configuration: ServerConfiguration(databasePath: folder + "/server.sqlite"),
            clock: ServerClock(testClockStart: nil))
        try await store.pool.write { try $0.execute(sql: "CREATE TABLE effect (name TEXT NOT NULL)") }
        func writing(_ name: String, thenRefusing refuse: Bool) -> ServerStore.BatchItem {
            ServerStore.BatchItem(key: name, requestHash: "hash-" + name, orderingKey: nil) { db in
                try db.execute(sql: "INSERT INTO effect (name) VALUES (?)", arguments: [name])
                if refuse { throw APIError.notFound }
                return StoredAnswer(status: 200, contentType: "application/json", body: Data("{}".utf8))
            }
        }
        let user = UserID("usr_alice")
        let answers = try await store.idempotentBatch(
            user: user,
            [
                writing("before", thenRefusing: false), writing("refused", thenRefusing: true),
                writing("after", thenRefusing: false),
            ])
        #expect(answers.map { $0?.answer.status } == [200, 404, 200])
        #expect(
            try await store.pool.read { try String.fetchAll($0, sql: "SELECT name FROM effect") } == [
                "before", "after",
            ])
        // Replayed from the stored refusal: the command does not run again.
        let replay = try await store.idempotentBatch(user: user, [writing("refused", thenRefusing: false)])
        #expect(replay.map { $0?.answer.status } == [404])
        #expect(replay.map { $0?.replayed } == [true])
        #expect(try await store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM effect") } == 2)
    }
}
