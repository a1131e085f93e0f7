import ArgumentParser
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

#if canImport(Glibc)
    import Glibc
#endif

/// `pg key`: the key that unlocks the profile's encrypted data.
struct Key: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "The key-encryption key of the profile.", subcommands: [KeyShow.self, KeyRotate.self])
}

struct KeyShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Where the key is looked for (never the key itself).")
    @ParentCommand var pg: PG

    func run() async throws {
        let provider = pg.globals.keys
        let location = ProfileKey.location(provider)
        let exists = location["exists"] as? Bool ?? false
        try Answer(json: location, text: Human.safe(provider.keyDescription) + (exists ? "" : " (not created yet)"))
            .print(json: pg.globals.json)
    }
}

struct KeyRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Re-wrap the profile's data keys under a new key; no data is rewritten.",
        discussion: """
            Without --new-key-file, a new random key replaces the key file in place. With it, the \
            data keys are wrapped under the key in PATH (created 0600 when missing); pass \
            --key-file PATH (or PG_KEY_FILE) from then on. A systemd credential cannot be \
            rewritten: rotate with --new-key-file, then encrypt the new file with systemd-creds.
            """)
    @ParentCommand var pg: PG
    @Option(help: ArgumentHelp("Wrap the data keys under the key in this file.", valueName: "path"))
    var newKeyFile: String?

    func run() async throws {
        let globals = pg.globals
        try await runCommand {
            let old = globals.keys
            let rotated: [String: Any]
            do {
                rotated = try ProfileKey.rotate(profile: globals.profilePath, from: old, to: newKeyFile)
            } catch let error as ErrorReport where error.code == "key_not_rewritable" {
                throw CLIError.usage("\(old.keyDescription) cannot be rewritten: pass --new-key-file PATH")
            }
            let count = rotated["rewrapped"] as? Int ?? 0
            let text =
                if let newKeyFile {
                    "Re-wrapped \(count) data key(s) under \(Human.safe(newKeyFile)); use --key-file with it from now on."
                } else {
                    "Rotated \(Human.safe(old.keyDescription)): \(count) data key(s) re-wrapped."
                }
            try Answer(json: rotated, text: text).print(json: globals.json)
        }
    }
}
