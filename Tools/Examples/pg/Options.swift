import ArgumentParser
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

/// Options every command takes (BRIEF.md: `pg [--server URL] [--profile DIR] [--json] COMMAND`).
struct GlobalOptions: ParsableArguments {
    @Option(help: "The API server (env PG_SERVER; default http://127.0.0.1:8080).")
    var server: String?

    @Option(help: "The profile folder (env PG_PROFILE; default $XDG_DATA_HOME/plusguidance).")
    var profile: String?

    @Flag(help: "Print one JSON value on stdout.")
    var json = false

    @Option(
        help:
            "Give up on a request after this many seconds, retries included (default 30 for reads and actions, 60 for sign-in)."
    )
    var requestTimeout: Double?

    @Option(
        help: ArgumentHelp(
            "The key that unlocks the profile's encrypted data (env PG_KEY_FILE; default: the systemd credential plusguidance.key, else ~/.config/plusguidance/key); created 0600 on first use.",
            valueName: "path"))
    var keyFile: String?

    func validate() throws {
        if let requestTimeout, !(requestTimeout.isFinite && (0.1...3_600).contains(requestTimeout)) {
            throw ValidationError("--request-timeout must be 0.1...3600 seconds")
        }
    }

    var serverURL: URL {
        get throws {
            let text = server ?? ProcessInfo.processInfo.environment["PG_SERVER"] ?? "http://127.0.0.1:8080"
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw CLIError.usage("--server must be an http(s) URL")
            }
            return url
        }
    }

    var profilePath: String {
        if let profile { return profile }
        let environment = ProcessInfo.processInfo.environment
        if let profile = environment["PG_PROFILE"] { return profile }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return data + "/plusguidance" }
        return NSHomeDirectory() + "/.local/share/plusguidance"
    }

    /// The client for this profile; `quickDeadline`, when given, caps every request's deadline.
    /// A command checks the cache's integrity only when it asks to (`sync`): the others end long
    /// before a check of a large cache could (pg-syncd checks in the background).
    func client(
        quickDeadline: Duration? = nil, checkingCache: Bool = false, onlyReading: Bool = false
    ) async throws -> PlusGuidanceClient {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: profilePath, isDirectory: &isFolder), !isFolder.boolValue {
            throw CLIError.usage("the profile \(Human.safe(profilePath)) is a file, not a folder")
        }
        var configuration = ClientConfiguration(serverURL: try serverURL, profile: profilePath)
        configuration.keys = keys
        configuration.cacheIntegrityCheck = checkingCache ? .inBackground : .skipped
        // A command that only shows what the cache holds opens only what it reads.
        if onlyReading { configuration.access = .readOnly }
        if let requestTimeout {
            configuration.deadlines = RequestDeadlines(all: .milliseconds(Int64(requestTimeout * 1_000)))
        }
        if let quickDeadline {
            configuration.deadlines = RequestDeadlines(
                all: min(quickDeadline, configuration.deadlines.read, configuration.deadlines.signIn))
        }
        let client = try await PlusGuidanceClient.open(configuration)
        // Every command is the user's activity: a daemon's idle sign-out counts from it.
        await client.recordActivity()
        return client
    }

    /// The key-encryption key's provider: `--key-file`, `PG_KEY_FILE`, systemd credential, default.
    var keys: FileKeyProvider { KeySource.provider(keyFile: keyFile, keyFileOrigin: "--key-file") }

    /// A client with an account signed in, or exit 77.
    func signedInClient(
        quickDeadline: Duration? = nil, checkingCache: Bool = false, onlyReading: Bool = false
    ) async throws -> (PlusGuidanceClient, User) {
        let client = try await client(
            quickDeadline: quickDeadline, checkingCache: checkingCache, onlyReading: onlyReading)
        guard let user = await client.currentUser else { throw CLIError.notSignedIn }
        return (client, user)
    }
}

/// A failure with the exit code of BRIEF.md's command-line contract.
struct CLIError: Error {
    var code: Int32
    var message: String

    static func usage(_ message: String) -> CLIError { CLIError(code: 64, message: message) }
    static let notSignedIn = CLIError(code: 77, message: "not signed in: run `pg login EMAIL --password-stdin`")
}

/// Maps any error to one line on stderr and the contract's exit code:
/// 64 bad usage, 65 refused by a domain rule, 69 server unreachable, 77 not signed in or bad
/// credentials, 70 anything else (the SDK's ``ErrorReport`` classes, which the C library's
/// statuses follow too).
func exitCode(for error: any Error) -> (Int32, String) {
    if let error = error as? CLIError { return (error.code, error.message) }
    let report = ErrorReport(error)
    let code: Int32 =
        switch report.kind {
        case .invalid: 64
        case .refused: 65
        case .unreachable: 69
        case .unauthorized: 77
        case .other: 70
        }
    // The commands to run, where the SDK's line says what to do in words.
    switch report.code {
    case PlusGuidanceClientError.Code.notSignedIn.rawValue: return (code, CLIError.notSignedIn.message)
    case PlusGuidanceClientError.Code.notSynced.rawValue:
        return (code, report.line.replacingOccurrences(of: "; sync first", with: "; run `pg sync`"))
    default:
        return (
            code,
            report.line.replacingOccurrences(of: "; sync again", with: "; run `pg sync`")
                .replacingOccurrences(of: "the server URL", with: "--server")
        )
    }
}

/// Runs a command body and turns failures into the contract's exit codes.
func runCommand(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        let (code, message) = exitCode(for: error)
        FileHandle.standardError.write(Data("pg: \(message)\n".utf8))
        throw ExitCode(code)
    }
}

extension GlobalOptions {
    /// Runs a command on the signed-in account and prints its answer as JSON or text.
    func run(
        quickDeadline: Duration? = nil, checkingCache: Bool = false, onlyReading: Bool = false,
        _ body: (PlusGuidanceClient, User) async throws -> Answer
    ) async throws {
        try await runCommand {
            let (client, user) = try await signedInClient(
                quickDeadline: quickDeadline, checkingCache: checkingCache, onlyReading: onlyReading)
            try await body(client, user).print(json: json)
        }
    }
}

/// A command's TEXT: the argument, or standard input for `-` or `--stdin` (as `git commit -F
/// -`), for a text past the 128 KiB of one argument and one that must not show in the process
/// list (a health-related search, say).
struct TextInput: ParsableArguments {
    @Argument(help: "The text; - reads it from standard input.") var text: String?
    @Flag(help: "Read the text from standard input.") var stdin = false

    func validate() throws {
        if stdin, let text, text != "-" { throw ValidationError("give TEXT or --stdin, not both") }
        if !stdin, text == nil { throw ValidationError("missing TEXT (or --stdin)") }
    }

    /// The argument, or standard input without its final newline.
    func read() throws -> String {
        guard stdin || text == "-" else { return text ?? "" }
        var data = FileHandle.standardInput.readDataToEndOfFile()
        if data.last == UInt8(ascii: "\n") { data.removeLast() }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIError.usage("standard input is not UTF-8 text")
        }
        return text
    }
}

/// `--wait SECONDS` / `--no-wait` of the commands that queue an action (BRIEF.md).
struct WaitOptions: ParsableArguments {
    @Option(help: "Wait this long for the server's answer, whichever process delivers it.")
    var wait: Double = 10
    @Flag(help: "Return as soon as the action is durably queued.") var noWait = false

    func validate() throws {
        guard wait.isFinite, (0...3_600).contains(wait) else {
            throw ValidationError("--wait must be 0...3600 seconds")
        }
    }

    /// Waits for the outcome of `action` and turns it into an answer: done (exit 0), refused
    /// (exit 65; the failed entry is discarded, since this command reported it), or still
    /// queued with the reason (exit 0).
    func outcome(
        of action: QueuedAction, on client: PlusGuidanceClient, done: String
    ) async throws -> (delivered: Bool, text: String) {
        if noWait, action.knownOutcome != .delivered { return (false, "Queued.") }
        switch try await action.outcome(waitingUpTo: .milliseconds(Int64(wait * 1_000))) {
        case .delivered: return (true, done)
        case .refused(let failure):
            try? await client.discard(action.id)
            throw CLIError(code: 65, message: "refused: \(failure.reason) (\(failure.code))")
        case .queued(let reason):
            switch reason {
            case "timed_out":
                return (
                    false,
                    "Queued: no answer within \(wait.formatted()) s; it will be delivered when the server is reachable."
                )
            case PersistenceError.storageFailedCode.code:
                return (
                    false,
                    "Queued: the disk failed a write while sending it (\(reason)); it is sent again at the next attempt."
                )
            case "behind_failed_message":
                return (false, "Queued: it waits behind a message the server refused (see `pg outbox`).")
            default:
                return (
                    false,
                    "Queued: the server is unreachable (\(reason)); it will be delivered when the server is reachable."
                )
            }
        }
    }
}

/// Resolves a PEER or CLIENT argument (an e-mail or an id) against the cached contacts.
func contact(_ text: String, in client: PlusGuidanceClient) async throws -> Contact {
    do {
        return try await client.contact(named: text)
    } catch let error as ErrorReport where error.code == "not_a_contact" {
        // The user's own argument, echoed on their terminal (escaped).
        throw CLIError(
            code: 65, message: "\(Human.safe(text)) is not one of your contacts (run `pg sync` if it is new)")
    }
}
