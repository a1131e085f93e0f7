@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting
import Testing

@Suite struct SQLiteStoreConformanceTests {
    @Test(arguments: CacheStoreConformance.checks)
    func sqliteCache(check: ConformanceCheck<any CacheStore>) async throws {
        let folder = try TemporaryFolder()
        try await check.run(on: SQLiteCacheStore(path: folder.path + "/cache.sqlite", cipher: testCipher))
    }

    @Test(arguments: OutboxStoreConformance.checks)
    func sqliteOutbox(check: ConformanceCheck<any OutboxStore>) async throws {
        let folder = try TemporaryFolder()
        try await check.run(on: SQLiteOutboxStore(path: folder.path + "/outbox.sqlite", cipher: testCipher))
    }
}
