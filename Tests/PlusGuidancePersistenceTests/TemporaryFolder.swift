import Foundation
import PlusGuidanceTesting

/// A fresh folder under the system temp folder, removed when the value is released.
final class TemporaryFolder: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/pgkit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a program to completion (killed after five minutes) and returns its exit status and
/// standard output.
@discardableResult
func run(_ arguments: [String], input: String? = nil) async throws -> (status: Int32, output: String) {
    let outcome = try await runProcess("/usr/bin/env", arguments, stdin: input)
    return (outcome.status, outcome.stdout)
}

func fileMode(_ path: String) -> Int? {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
    return (attributes[.posixPermissions] as? NSNumber)?.intValue
}
