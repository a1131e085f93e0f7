import ArgumentParser
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

#if canImport(Glibc)
    import Glibc
#endif

/// A progress line on stderr while a sync runs, only when stderr is a terminal.
func syncWithProgress(_ client: PlusGuidanceClient) async throws {
    guard isatty(STDERR_FILENO) != 0 else { return try await client.syncNow() }
    defer { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    try await client.syncNow { progress in
        let line =
            if let total = progress.total {
                "\rsyncing… \(progress.changesApplied) of \(total) changes"
            } else {
                "\rsyncing… \(progress.changesApplied) changes"
            }
        FileHandle.standardError.write(Data(line.utf8))
    }
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Sign in (the password is read from stdin, never an argument).")
    @ParentCommand var pg: PG
    @Argument(help: "Your e-mail.") var email: String
    @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false

    func run() async throws {
        let globals = pg.globals
        try await runCommand {
            let password: String
            if passwordStdin {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw CLIError.usage("no password on standard input")
                }
                password = line
            } else if isatty(STDIN_FILENO) != 0, let typed = getpass("Password: ") {
                password = String(cString: typed)
            } else {
                throw CLIError.usage("pass the password with --password-stdin")
            }
            let client = try await globals.client()
            let user = try await client.signIn(email: email, password: password)
            // Signed in either way; a first sync that failed is said, with its exit code.
            var firstSync: (any Error)?
            do { try await syncWithProgress(client) } catch { firstSync = error }
            try Answer(
                json: ContractJSON.user(user),
                text: "Signed in as \(Human.safe(user.name)) <\(Human.safe(user.email))> (\(user.role.rawValue))."
            )
            .print(json: globals.json)
            if let firstSync { throw firstSync }
        }
    }
}

struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Sign out and remove this account's cached data from this machine.",
        discussion: """
            Unsent actions (the outbox) are kept and delivered when you sign in to the same \
            account again, unless --discard-outbox.
            """)
    @ParentCommand var pg: PG
    @Flag(help: "Also throw away the actions not yet delivered.") var discardOutbox = false

    func run() async throws {
        try await pg.globals.run { client, _ in
            let status = try await client.status()
            let unsent = discardOutbox ? 0 : status.pendingOutbox + status.failedOutbox
            try await client.signOut(discardingOutbox: discardOutbox)
            return Answer(
                json: ["signedOut": true, "keptOutbox": unsent],
                text: unsent > 0
                    ? "Signed out. \(unsent) unsent action(s) kept; they are delivered when you sign in again."
                    : "Signed out.")
        }
    }
}

struct WhoAmI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "The signed-in user.")
    @ParentCommand var pg: PG

    func run() async throws {
        try await pg.globals.run(onlyReading: true) { _, user in
            Answer(
                json: ContractJSON.user(user),
                text: "\(Human.safe(user.name)) <\(Human.safe(user.email))>, \(user.role.rawValue)")
        }
    }
}

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Deliver queued actions and fetch what changed.")
    @ParentCommand var pg: PG

    func run() async throws {
        try await pg.globals.run(checkingCache: true) { client, _ in
            try await syncWithProgress(client)
            let status = try await client.status()
            let text =
                status.isRunByAnotherProcess
                ? "Not synced by this command: another process on this profile (pg-syncd, or another pg) runs its sync. \(status.pendingOutbox) pending, \(status.failedOutbox) failed in the outbox."
                : "Synced. \(status.pendingOutbox) pending, \(status.failedOutbox) failed in the outbox."
            return Answer(json: ContractJSON.status(status), text: text)
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Connection and outbox status.")
    /// The longest `pg status` waits on the network, and on one request of its probe.
    static let probeBound: Duration = .seconds(4)
    static let requestBound: Duration = .seconds(3)
    @ParentCommand var pg: PG

    func run() async throws {
        try await pg.globals.run(quickDeadline: Status.requestBound) { client, _ in
            // Probe the server: a sync attempt (a no-op beside pg-syncd), never longer than the bound.
            var answered = true
            do { try await withTimeLimit(Status.probeBound) { try await client.syncNow() } } catch let error
                as HTTPClientError where error == .timeout
            {
                answered = false
            } catch {}
            var status = try await client.status()
            if !answered { status.phase = .offline(reason: "timeout") }
            let engine = status.engineProcess.map { " (synced by process \($0))" } ?? ""
            let serverTime = await client.knownServerTime()
            // Why it is not online, when it says: `cannot_connect`, `storage_failed` (a live change
            // the disk refused: the cache is stale until it takes writes again)…
            let problem: String? =
                switch status.phase {
                case .offline(let reason), .error(let reason): reason
                default: nil
                }
            var json = ContractJSON.status(status)
            json["serverTime"] = ContractJSON.time(serverTime)
            json["problem"] = problem ?? NSNull()
            return Answer(
                json: json,
                text: [
                    "\(status.isOnline ? "online" : "offline")\(problem.map { " (\($0))" } ?? "")\(engine), last sync \(status.lastSuccessfulSync.map(Human.time) ?? "never"), \(status.pendingOutbox) pending, \(status.failedOutbox) failed"
                ] + (serverTime == nil ? [Human.serverTimeUnknown] : [])
            )
        }
    }
}
