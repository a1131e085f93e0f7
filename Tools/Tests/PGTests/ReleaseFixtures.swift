import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension EncryptionTests.Machine {
    /// A server on a copy of the database of `Resources/<fixture>` (a profile a past release
    /// wrote, and the server it talked to), and that profile copied as `who`'s, with its key
    /// file when the fixture has one. The copies go with the machine (``stop()``).
    static func launch(fixture name: String, as who: String) async throws -> EncryptionTests.Machine {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Resources/" + name
        let serverCopy = FileManager.default.temporaryDirectory.path + "/pg-fixture-server-\(UUID().uuidString).sqlite"
        try FileManager.default.copyItem(atPath: fixture + "/server.sqlite", toPath: serverCopy)
        let machine = try await launch(databasePath: serverCopy)
        let profile = machine.profile(who)
        try FileManager.default.copyItem(atPath: fixture + "/profile", toPath: profile)
        let accounts = try FileManager.default.contentsOfDirectory(atPath: profile + "/accounts")
        for path in [profile, profile + "/accounts"] + accounts.map({ profile + "/accounts/" + $0 }) {
            chmod(path, 0o700)
        }
        if FileManager.default.fileExists(atPath: fixture + "/key") {
            let keyFile = machine.keyFile(who)
            try FileManager.default.createDirectory(
                atPath: (keyFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: fixture + "/key", toPath: keyFile)
            chmod(keyFile, 0o600)
        }
        return machine
    }
}
