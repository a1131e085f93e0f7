import Foundation
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Health data at rest, through the built binaries: nothing readable in any file of a profile
/// (with `pg-syncd` running, after `kill -9`, after a corrupt cache is moved aside), keys from
/// `--key-file`/`PG_KEY_FILE` and systemd credentials, a missing or wrong key refused without
/// loss, a profile of the last release encrypted on first open, idle sign-out.
@Suite struct EncryptionTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Profiles on one server, each with its own key file outside the profile.
    final class Machine: @unchecked Sendable {
        // @unchecked: `daemons` is only touched by the test's own task.
        let server: RestartableReferenceServer
        let folder = FileManager.default.temporaryDirectory.path + "/pg-crypt-\(UUID().uuidString)"
        let serverDatabase: String
        var daemons: [ChildProcess] = []

        init(server: RestartableReferenceServer, serverDatabase: String) throws {
            self.server = server
            self.serverDatabase = serverDatabase
            try FileManager.default.createDirectory(atPath: folder + "/keys", withIntermediateDirectories: true)
            chmod(folder, 0o700)
        }

        /// A server whose database outlives its restarts.
        static func launch(databasePath: String? = nil) async throws -> Machine {
            let database =
                databasePath ?? FileManager.default.temporaryDirectory.path
                + "/pg-crypt-server-\(UUID().uuidString).sqlite"
            return try Machine(
                server: try await RestartableReferenceServer.launch(
                    databasePath: database, arguments: ["--seed", "demo"]), serverDatabase: database)
        }

        func binary(_ name: String) throws -> String {
            guard let path = ReferenceServerProcess.productPath(name) else {
                throw Failure(description: "build \(name)")
            }
            return path
        }

        func profile(_ who: String) -> String { folder + "/" + who }
        func keyFile(_ who: String) -> String { folder + "/keys/" + who + "/key" }

        /// The environment of `who`'s commands: their key file, no other key source.
        func environment(_ who: String) -> [String: String] {
            ["PG_KEY_FILE": keyFile(who), "CREDENTIALS_DIRECTORY": "", "XDG_CONFIG_HOME": folder + "/no-config"]
        }

        func pg(
            _ who: String, _ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil
        ) async throws -> ProcessOutcome {
            try await runProcess(
                try binary("pg"), ["--server", server.url.absoluteString, "--profile", profile(who)] + arguments,
                stdin: stdin, environment: environment ?? self.environment(who))
        }

        func signIn(_ who: String, _ email: String, environment: [String: String]? = nil) async throws {
            let password = email.split(separator: "@")[0] + "-pass\n"
            let run = try await pg(
                who, ["login", email, "--password-stdin"], stdin: String(password), environment: environment)
            guard run.status == 0 else { throw Failure(description: "login \(email): \(run.stderr)") }
        }

        func startDaemon(
            _ who: String, _ extra: [String] = [], environment: [String: String]? = nil
        ) throws -> ChildProcess {
            let process = try ChildProcess(
                try binary("pg-syncd"), ["--server", server.url.absoluteString, "--profile", profile(who)] + extra,
                environment: environment ?? self.environment(who))
            daemons.append(process)
            return process
        }

        func messages(_ who: String, _ peer: String, environment: [String: String]? = nil) async throws -> String {
            try await pg(who, ["messages", peer], environment: environment).stdout
        }

        func stop() {
            for daemon in daemons {
                daemon.signal(SIGTERM)
                daemon.wait(deadline: .now + .seconds(30))
            }
            server.stop()
            try? FileManager.default.removeItem(atPath: folder)
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: serverDatabase + suffix) }
        }
    }

    static func eventually(_ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw Failure(description: "condition not met in time") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Sets a file's access and modification time.
    static func setTime(of path: String, to date: Date) {
        var times = [timeval](repeating: timeval(tv_sec: Int(date.timeIntervalSince1970), tv_usec: 0), count: 2)
        utimes(path, &times)
    }

    /// Every regular file under `folder` (recursively) holding one of `needles`, byte for byte.
    static func filesHolding(_ needles: [String], under folder: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder)
        var found: [String] = []
        while let name = enumerator?.nextObject() as? String {
            let path = folder + "/" + name
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue,
                let data = FileManager.default.contents(atPath: path)
            else { continue }
            if needles.contains(where: { data.range(of: Data($0.utf8)) != nil }) { found.append(name) }
        }
        return found
    }

    /// The canaries, and the token prefixes of the reference server (`pga_`, `pgr_`).
    static func secrets(_ canaries: [String]) -> [String] { canaries + ["pga_", "pgr_", "accessToken"] }

    @Test func noBodyOrTokenIsInAnyFileOfAProfileThatTheDaemonKeepsLive() async throws {
        let machine = try await Machine.launch()
        defer { machine.stop() }
        try await machine.signIn("theo", "therapist@example.com")
        try await machine.signIn("alice", "alice@example.com")
        let daemon = try machine.startDaemon("alice")
        let incoming = "CANARY-IN-\(UUID().uuidString)"
        let outgoing = "CANARY-OUT-\(UUID().uuidString)"
        #expect(try await machine.pg("theo", ["send", "alice@example.com", incoming]).status == 0)
        // The daemon's event stream brings it into the cache (its -wal hot while it runs).
        try await Self.eventually { try await machine.messages("alice", "therapist@example.com").contains(incoming) }
        #expect(try await machine.pg("alice", ["send", "therapist@example.com", outgoing]).status == 0)
        let canaries = [incoming, outgoing]
        #expect(Self.filesHolding(Self.secrets(canaries), under: machine.profile("alice")) == [])
        #expect(Self.filesHolding(Self.secrets(canaries), under: machine.profile("theo")) == [])

        // kill -9 while messages are being written: whatever a crash leaves is sealed too.
        let burst = (0..<6).map { "CANARY-BURST-\($0)-\(UUID().uuidString)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for text in burst {
                group.addTask {
                    _ = try await machine.pg("alice", ["send", "therapist@example.com", text, "--no-wait"])
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(300))
                daemon.signal(SIGKILL)
            }
            try await group.waitForAll()
        }
        await daemon.exitStatus(within: .seconds(30))
        #expect(Self.filesHolding(Self.secrets(canaries + burst), under: machine.profile("alice")) == [])
        let synced = try await machine.pg("alice", ["sync"])
        #expect(synced.status == 0, "\(synced.stderr)")
        let shown = try await machine.messages("alice", "therapist@example.com")
        #expect(burst.allSatisfy { shown.contains($0) })

        // A cache whose header is damaged is moved aside when next opened: it stays sealed.
        let account = machine.profile("alice") + "/accounts/usr_alice"
        let handle = try #require(FileHandle(forUpdatingAtPath: account + "/cache.sqlite"))
        try handle.write(contentsOf: Data(repeating: 0x5A, count: 100))
        try handle.close()
        // A WAL left by the last command may hold the header page; it goes with the damage.
        for suffix in ["-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: account + "/cache.sqlite" + suffix)
        }
        #expect(try await machine.pg("alice", ["sync"]).status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: account)
        #expect(names.contains { $0.hasPrefix("cache.sqlite.corrupt-") })
        #expect(Self.filesHolding(Self.secrets(canaries + burst), under: machine.profile("alice")) == [])
        // The needles are found where they are in clear: the check itself can fail.
        #expect(Self.filesHolding([incoming], under: machine.folder + "/keys") == [])
        try incoming.write(toFile: machine.folder + "/probe", atomically: true, encoding: .utf8)
        #expect(Self.filesHolding([incoming], under: machine.folder) == ["probe"])
    }

    @Test func aMissingWrongOrExposedKeyIsRefusedAndNothingIsLost() async throws {
        let machine = try await Machine.launch()
        defer { machine.stop() }
        try await machine.signIn("theo", "therapist@example.com")
        machine.server.stop()
        let queued = try await machine.pg("theo", ["send", "alice@example.com", "queued while offline"])
        #expect(queued.status == 0)
        #expect(queued.stdout.contains("Queued"))
        let key = machine.keyFile("theo")
        let original = try Data(contentsOf: URL(fileURLWithPath: key))
        let account = machine.profile("theo") + "/accounts/usr_therapist"
        let outboxBefore = try Data(contentsOf: URL(fileURLWithPath: account + "/outbox.sqlite"))

        func refused(_ reason: String) async throws {
            for command in [["outbox"], ["whoami"], ["send", "alice@example.com", "more"], ["sync"]] {
                let run = try await machine.pg("theo", command)
                #expect(run.status == 77, "\(command): \(run.stderr)")
                #expect(run.stderr.split(separator: "\n").count == 1)
                #expect(run.stderr.contains(key))
                #expect(run.stderr.contains(reason), "\(run.stderr)")
            }
        }
        try FileManager.default.removeItem(atPath: key)
        try await refused("there is no key there")
        // Not re-created: a new key could not open the profile.
        #expect(!FileManager.default.fileExists(atPath: key))

        var random = SystemRandomNumberGenerator()
        let wrong = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
        #expect(FileManager.default.createFile(atPath: key, contents: wrong, attributes: [.posixPermissions: 0o600]))
        try await refused("not the key this profile was encrypted with")

        try original.write(to: URL(fileURLWithPath: key))
        chmod(key, 0o640)
        try await refused("readable by other users")

        // Nothing was touched meanwhile; with the key back everything works, the queue included.
        #expect(try Data(contentsOf: URL(fileURLWithPath: account + "/outbox.sqlite")) == outboxBefore)
        chmod(key, 0o600)
        let outbox = try await machine.pg("theo", ["outbox"])
        #expect(outbox.status == 0)
        #expect(outbox.stdout.split(separator: "\n").count == 1)
        try await machine.server.start()
        let synced = try await machine.pg("theo", ["sync"])
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(try await machine.pg("theo", ["--json", "outbox"]).stdout == "[]\n")
        try await machine.signIn("alice", "alice@example.com")
        #expect(try await machine.messages("alice", "therapist@example.com").contains("queued while offline"))
    }

    @Test func pgKeyRotateReplacesTheKeyAndRewritesNoData() async throws {
        let machine = try await Machine.launch()
        defer { machine.stop() }
        try await machine.signIn("theo", "therapist@example.com")
        #expect(try await machine.pg("theo", ["send", "alice@example.com", "before rotating"]).status == 0)
        let key = machine.keyFile("theo")
        let shown = try await machine.pg("theo", ["key", "show"])
        #expect(shown.stdout.contains(key))
        let oldKey = try Data(contentsOf: URL(fileURLWithPath: key))
        let cache = machine.profile("theo") + "/accounts/usr_therapist/cache.sqlite"
        let cacheBefore = try Data(contentsOf: URL(fileURLWithPath: cache))

        // In place: a new key in the same file, the data keys re-wrapped, the data untouched.
        let rotated = try await machine.pg("theo", ["key", "rotate"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.stdout.contains("2 data key(s) re-wrapped"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) != oldKey)
        #expect(try Data(contentsOf: URL(fileURLWithPath: cache)) == cacheBefore)
        #expect(try await machine.messages("theo", "alice@example.com").contains("before rotating"))
        // The old key no longer opens the profile.
        let old = machine.folder + "/old.key"
        #expect(FileManager.default.createFile(atPath: old, contents: oldKey, attributes: [.posixPermissions: 0o600]))
        #expect(try await machine.pg("theo", ["--key-file", old, "whoami"]).status == 77)

        // To another file: from then on that file is the key.
        let moved = machine.folder + "/keys/moved/key"
        #expect(try await machine.pg("theo", ["key", "rotate", "--new-key-file", moved]).status == 0)
        #expect(try await machine.pg("theo", ["whoami"]).status == 77)
        #expect(
            try await machine.pg("theo", ["--key-file", moved, "messages", "alice@example.com"]).stdout.contains(
                "before rotating"))
    }

    @Test func theDaemonTakesItsKeyFromASystemdCredential() async throws {
        let machine = try await Machine.launch()
        defer { machine.stop() }
        // As systemd sets it: a private folder, the credential 0400, CREDENTIALS_DIRECTORY.
        let credentials = machine.folder + "/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: false)
        chmod(credentials, 0o500)
        var random = SystemRandomNumberGenerator()
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }).base64EncodedString()
        let credential = credentials + "/plusguidance.key"
        chmod(credentials, 0o700)
        try (key + "\n").write(toFile: credential, atomically: false, encoding: .utf8)
        chmod(credential, 0o400)
        chmod(credentials, 0o500)
        let xdg = machine.folder + "/xdg"
        let systemd = ["CREDENTIALS_DIRECTORY": credentials, "PG_KEY_FILE": "", "XDG_CONFIG_HOME": xdg]

        try await machine.signIn("theo", "therapist@example.com")
        try await machine.signIn("alice", "alice@example.com", environment: systemd)
        _ = try machine.startDaemon("alice", environment: systemd)
        let text = "CANARY-CRED-\(UUID().uuidString)"
        #expect(try await machine.pg("theo", ["send", "alice@example.com", text]).status == 0)
        try await Self.eventually {
            try await machine.messages("alice", "therapist@example.com", environment: systemd).contains(text)
        }
        // The credential was used, not a key file made beside it.
        #expect(!FileManager.default.fileExists(atPath: xdg + "/plusguidance/key"))
        #expect(Self.filesHolding(Self.secrets([text]), under: machine.profile("alice")) == [])
        // Without the credential the profile is refused, naming where the key was looked for.
        let without = try await machine.pg(
            "alice", ["messages", "therapist@example.com"],
            environment: ["CREDENTIALS_DIRECTORY": "", "PG_KEY_FILE": "", "XDG_CONFIG_HOME": xdg])
        #expect(without.status == 77)
        #expect(without.stderr.contains(xdg + "/plusguidance/key"))
        chmod(credentials, 0o700)
    }

    @Test func aPlaintextProfileOfTheLastReleaseIsEncryptedOnFirstOpen() async throws {
        let machine = try await Machine.launch(fixture: "plaintext-profile-0.1", as: "theo")
        defer { machine.stop() }
        let profile = machine.profile("theo")
        let canaries = ["CANARY-SYNCED-7f3a", "CANARY-REPLY-91bd", "CANARY-QUEUED-c2e8"]
        // The fixture really is in clear: bodies, the queued action and the tokens.
        #expect(
            Set(Self.filesHolding(Self.secrets(canaries), under: profile))
                == [
                    "accounts/usr_therapist/cache.sqlite", "accounts/usr_therapist/outbox.sqlite",
                    "accounts/usr_therapist/tokens.json",
                ])

        // Offline first: the cache and the queued message are all there, and sealed.
        machine.server.stop()
        let shown = try await machine.messages("theo", "alice@example.com")
        #expect(canaries.allSatisfy { shown.contains($0) }, "\(shown)")
        #expect(Self.filesHolding(Self.secrets(canaries), under: profile) == [])
        let names = try FileManager.default.contentsOfDirectory(atPath: profile + "/accounts/usr_therapist")
        #expect(!names.contains { $0 == "tokens.json" || $0.hasSuffix(".plaintext") || $0.hasSuffix(".sealing") })
        #expect(Set(names).isSuperset(of: ["cache.key", "outbox.key", "tokens"]))

        // Online: the action queued before the upgrade is delivered once.
        try await machine.server.start()
        try await machine.signIn("theo", "therapist@example.com")
        #expect(try await machine.pg("theo", ["sync"]).status == 0)
        #expect(try await machine.pg("theo", ["--json", "outbox"]).stdout == "[]\n")
        try await machine.signIn("alice", "alice@example.com")
        let alice = try await machine.messages("alice", "therapist@example.com")
        #expect(alice.components(separatedBy: "CANARY-QUEUED-c2e8").count == 2, "\(alice)")
    }

    @Test func aKioskSignsOutWhenLeftAloneAndNotWhileCommandsKeepComing() async throws {
        let machine = try await Machine.launch()
        defer { machine.stop() }
        try await machine.signIn("alice", "alice@example.com")
        let account = machine.profile("alice") + "/accounts/usr_alice"
        let activity = account + "/activity"
        func lastActivity() -> Date {
            let attributes = try? FileManager.default.attributesOfItem(atPath: activity)
            return attributes?[.modificationDate] as? Date ?? .distantPast
        }
        let setActivity = { @Sendable (date: Date) in Self.setTime(of: activity, to: date) }

        // A command is activity, for every process of the profile: it moves the shared record.
        setActivity(Date() - 3_600)
        let before = Date() - 1
        #expect(try await machine.pg("alice", ["offers"]).status == 0)
        #expect(lastActivity() >= before)

        // Fifteen seconds without activity sign out; activity every half second for twenty
        // seconds keeps the account signed in. (A thread of its own records it, as commands do,
        // so a loaded machine's slow process start-ups cannot open a gap.)
        _ = try machine.startDaemon("alice", ["--idle-sign-out", "0.25"])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                let busyUntil = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < busyUntil {
                    setActivity(Date())
                    usleep(500_000)
                }
                done.resume()
            }
        }
        #expect(FileManager.default.fileExists(atPath: machine.profile("alice") + "/current-account"))
        #expect(FileManager.default.fileExists(atPath: account + "/cache.key"))

        // Left alone: signed out, the cache's key and the cache gone.
        // (The profile forgets the account first, then the account's files go, its key first.)
        try await Self.eventually {
            !FileManager.default.fileExists(atPath: machine.profile("alice") + "/current-account")
                && !FileManager.default.fileExists(atPath: account + "/cache.sqlite")
        }
        #expect(!FileManager.default.fileExists(atPath: account + "/cache.key"))
        #expect(try await machine.pg("alice", ["whoami"]).status == 77)

        // The daemon waits for the next sign-in and keeps that one live: a message sent after it
        // reaches the cache, which `pg messages` only reads.
        try await machine.signIn("theo", "therapist@example.com")
        try await machine.signIn("alice", "alice@example.com")
        let text = "after signing in again \(UUID().uuidString)"
        #expect(try await machine.pg("theo", ["send", "alice@example.com", text]).status == 0)
        try await Self.eventually { try await machine.messages("alice", "therapist@example.com").contains(text) }
    }
}
