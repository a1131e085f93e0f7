import Foundation
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Hardening, defect 8: a profile its owner made read-only made every command, even `whoami`,
/// exit 70 with `insecure_permissions: cannot restrict permissions`. It now says the profile is
/// not writable, changes nothing on disk (not even the modes its owner chose), and works again
/// once it is writable.
@Suite struct ReadOnlyProfileTests {
    /// Root writes through mode bits, so as root the commands run as `nobody` (setpriv), in a
    /// folder that user owns; as anyone else they run as that user.
    struct Profile {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-readonly-\(UUID().uuidString)"
        let server: URL
        var asRoot: Bool { getuid() == 0 }
        static let nobody: uid_t = 65_534

        func pg(_ arguments: [String], stdin: String? = nil) async throws -> ProcessOutcome {
            let pg = try #require(ReferenceServerProcess.productPath("pg"))
            let command =
                ["--server", server.absoluteString, "--profile", folder + "/profile", "--key-file", folder + "/key"]
                + arguments
            if asRoot {
                return try await runProcess(
                    "/usr/bin/setpriv",
                    ["--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", "--", pg] + command,
                    stdin: stdin)
            }
            return try await runProcess(pg, command, stdin: stdin)
        }

        /// Every path below the profile with its mode and content.
        func snapshot() throws -> [String: String] {
            var files: [String: String] = [:]
            let root = folder + "/profile"
            for case let name as String in FileManager.default.enumerator(atPath: root)! {
                var info = stat()
                guard lstat(root + "/" + name, &info) == 0 else { continue }
                let content = FileManager.default.contents(atPath: root + "/" + name)?.base64EncodedString() ?? ""
                files[name] = String(info.st_mode & 0o777, radix: 8) + " " + content
            }
            return files
        }

        /// Sets the permission bits of the profile's folders and files.
        func chmodProfile(folders: mode_t, files: mode_t) {
            let root = folder + "/profile"
            chmod(root, folders)
            for case let name as String in FileManager.default.enumerator(atPath: root)! {
                var info = stat()
                guard lstat(root + "/" + name, &info) == 0 else { continue }
                chmod(root + "/" + name, (info.st_mode & S_IFMT) == S_IFDIR ? folders : files)
            }
        }
    }

    @Test func aReadOnlyProfileSaysSoChangesNothingAndWorksOnceWritable() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let profile = Profile(server: server.url)
        try FileManager.default.createDirectory(atPath: profile.folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: profile.folder) }
        if profile.asRoot {
            try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"))
            #expect(chown(profile.folder, Profile.nobody, Profile.nobody) == 0)
        }
        let login = try await profile.pg(["login", "alice@example.com", "--password-stdin"], stdin: "alice-pass\n")
        try #require(login.status == 0, "\(login.stderr)")
        #expect(try await profile.pg(["send", "therapist@example.com", "before it was read-only"]).status == 0)

        profile.chmodProfile(folders: 0o500, files: 0o400)
        let before = try profile.snapshot()
        for command in [
            ["whoami"], ["messages", "therapist@example.com"], ["status"], ["send", "therapist@example.com", "x"],
        ] {
            let run = try await profile.pg(command)
            #expect(run.status == 70, "\(command): \(run.status) \(run.stderr)")
            #expect(run.stderr.hasPrefix("pg: the profile is not writable ("), "\(command): \(run.stderr)")
            #expect(run.stderr.hasSuffix("(profile_not_writable)\n"), "\(command): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
            #expect(!run.stderr.contains("insecure_permissions"), "\(run.stderr)")
        }
        #expect(try profile.snapshot() == before, "a refused command changed the read-only profile")

        profile.chmodProfile(folders: 0o700, files: 0o600)
        let whoami = try await profile.pg(["whoami"])
        #expect(whoami.status == 0, "\(whoami.stderr)")
        #expect(whoami.stdout.contains("alice@example.com"))
        let messages = try await profile.pg(["messages", "therapist@example.com"])
        #expect(messages.stdout.contains("before it was read-only"), "\(messages.stdout)")
    }
}
