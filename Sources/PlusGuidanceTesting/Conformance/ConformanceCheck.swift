import Foundation

/// One named behaviour that every implementation of a store seam must have.
///
/// Run each check on a fresh, empty store. A check throws ``ConformanceFailure`` naming what
/// differed; run them from your tests, one test case per check:
///
/// ```swift
/// @Test(arguments: CacheStoreConformance.checks)
/// func sqliteCache(check: ConformanceCheck<any CacheStore>) async throws {
///     try await check.run(on: try makeSQLiteCache())
/// }
/// ```
public struct ConformanceCheck<Store: Sendable>: Sendable, CustomStringConvertible {
    public let name: String
    private let body: @Sendable (Store) async throws -> Void

    init(_ name: String, _ body: @escaping @Sendable (Store) async throws -> Void) {
        self.name = name
        self.body = body
    }

    /// Runs the check against `store`, which must be empty.
    public func run(on store: Store) async throws { try await body(store) }

    public var description: String { name }
}

/// A conformance check found a difference from the seam's contract.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public let message: String
    public let line: UInt

    public var description: String { "line \(line): \(message)" }
}

func require(_ condition: Bool, _ message: @autoclosure () -> String, line: UInt = #line) throws {
    guard condition else { throw ConformanceFailure(message: message(), line: line) }
}

func requireEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String, line: UInt = #line) throws {
    guard actual == expected else {
        throw ConformanceFailure(message: "\(what): expected \(expected), got \(actual)", line: line)
    }
}

func requireThrows(_ what: String, line: UInt = #line, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        return
    }
    throw ConformanceFailure(message: "\(what): expected an error, none was thrown", line: line)
}
