import Foundation
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting

/// The data key of the stores these tests open directly (one per test process, so a store
/// reopened in the same test opens what it wrote).
let testCipher = FieldCipher.ephemeral()

/// The key-encryption key of the profiles these tests open: a file of its own, never the
/// user's `~/.config/plusguidance/key`.
let testKeys = FileKeyProvider(
    path: FileManager.default.temporaryDirectory.path + "/pgkit-test-key-\(getpid())/key")

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
