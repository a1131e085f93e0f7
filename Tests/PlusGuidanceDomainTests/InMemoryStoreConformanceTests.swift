@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import PlusGuidanceTesting
import Testing

@Suite struct InMemoryStoreConformanceTests {
    @Test(arguments: CacheStoreConformance.checks)
    func inMemoryCache(check: ConformanceCheck<any CacheStore>) async throws {
        try await check.run(on: InMemoryCacheStore())
    }

    @Test(arguments: OutboxStoreConformance.checks)
    func inMemoryOutbox(check: ConformanceCheck<any OutboxStore>) async throws {
        try await check.run(on: InMemoryOutboxStore())
    }
}
