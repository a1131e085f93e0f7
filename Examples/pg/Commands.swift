import ArgumentParser
import Foundation
import PlusGuidanceDomain
import PlusGuidanceNetworking
import PlusGuidanceSync

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
        abstract: "Sign in (the password is read from stdin, never an argument).")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }
    @Argument(help: "Your e-mail.") var email: String
    @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false

    func run() async throws {
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
            try? await syncWithProgress(client)
            if globals.json {
                try JSONOutput.print(["id": user.id.rawValue, "email": user.email, "role": user.role.rawValue])
            } else {
                print("Signed in as \(user.name) <\(user.email)> (\(user.role.rawValue)).")
            }
        }
    }
}

struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign out and remove this account's cached data from this machine.",
        discussion: """
            Unsent actions (the outbox) are kept and delivered when you sign in to the same \
            account again, unless --discard-outbox.
            """)
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }
    @Flag(help: "Also throw away the actions not yet delivered.") var discardOutbox = false

    func run() async throws {
        try await runCommand {
            let (client, _) = try await globals.signedInClient()
            let status = try await client.status()
            let unsent = discardOutbox ? 0 : status.pendingOutbox + status.failedOutbox
            try await client.signOut(discardingOutbox: discardOutbox)
            if globals.json {
                try JSONOutput.print(["signedOut": true, "keptOutbox": unsent])
            } else if unsent > 0 {
                print("Signed out. \(unsent) unsent action(s) kept; they are delivered when you sign in again.")
            } else {
                print("Signed out.")
            }
        }
    }
}

struct WhoAmI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "The signed-in user.")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }

    func run() async throws {
        try await runCommand {
            let (_, user) = try await globals.signedInClient()
            if globals.json {
                try JSONOutput.print(["id": user.id.rawValue, "email": user.email, "role": user.role.rawValue])
            } else {
                print("\(user.name) <\(user.email)>, \(user.role.rawValue)")
            }
        }
    }
}

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Deliver queued actions and fetch what changed.")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }

    func run() async throws {
        try await runCommand {
            let (client, _) = try await globals.signedInClient()
            try await syncWithProgress(client)
            let status = try await client.status()
            if globals.json {
                try JSONOutput.print(JSONOutput.status(status))
            } else {
                print("Synced. \(status.pendingOutbox) pending, \(status.failedOutbox) failed in the outbox.")
            }
        }
    }
}

struct Clients: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Your clients (or your therapist), from the cache.")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }

    func run() async throws {
        try await runCommand {
            let (client, _) = try await globals.signedInClient()
            let contacts = try await client.contacts()
            if globals.json {
                try JSONOutput.print(contacts.map(JSONOutput.client))
            } else {
                for contact in contacts {
                    print(
                        "\(contact.presence.isOnline ? "●" : "○") \(contact.user.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(contact.user.email)"
                    )
                }
            }
        }
    }
}

struct Messages: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The conversation with PEER (e-mail or id), newest last.")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }
    @Argument var peer: String
    @Option(help: "How many messages.") var limit = 20

    func validate() throws { guard limit > 0 else { throw ValidationError("--limit must be positive") } }

    func run() async throws {
        try await runCommand {
            let (client, user) = try await globals.signedInClient()
            let other = try await contact(peer, in: client)
            let messages = try await client.messages(with: other.id, limit: limit)
            if globals.json {
                try JSONOutput.print(messages.map(JSONOutput.message))
            } else {
                for message in messages.reversed() { print(Human.message(message, me: user.id)) }
            }
        }
    }
}

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send TEXT to PEER; queued when offline (exit 0).")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }
    @Argument var peer: String
    @Argument var text: String

    func run() async throws {
        try await runCommand {
            let (client, _) = try await globals.signedInClient()
            let other = try await contact(peer, in: client)
            let message = try await client.send(text, to: other.id)
            let shown = try await client.messages(with: other.id, limit: 50).first { $0.id == message.id } ?? message
            if globals.json {
                try JSONOutput.print(JSONOutput.message(shown))
            } else {
                print(
                    shown.deliveryState == .sent
                        ? "Sent." : "Queued: it will be delivered when the server is reachable.")
            }
        }
    }
}

struct Offer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Offer an Instant Session to CLIENT (needs the server; never queued).")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }
    @Argument var client: String
    @Option(help: "video, voice or chat.") var type: String
    @Option(help: "Expected duration in minutes.") var duration: Int
    @Flag(help: "Start at once, without the client's confirmation.") var noConfirmation = false
    @Option(help: "Start time (ISO 8601); default now.") var at: String?

    func run() async throws {
        try await runCommand {
            let sessionType = try SessionType(parsing: type)
            var start: Date?
            if let at {
                guard let parsed = WireDecoding.time(at) else { throw CLIError.usage("--at must be an ISO 8601 time") }
                start = parsed
            }
            let (pg, _) = try await globals.signedInClient()
            let other = try await contact(client, in: pg)
            let offer = try await pg.createOffer(
                to: other.id,
                options: OfferOptions(
                    type: sessionType, startsAt: start, durationMinutes: duration, requiresConfirmation: !noConfirmation
                ))
            if globals.json {
                try JSONOutput.print(JSONOutput.offer(offer))
            } else {
                print(
                    offer.requiresConfirmation
                        ? "Offered a \(sessionType.displayName) session of \(duration) minutes to \(other.user.name); waiting for an answer (offer \(offer.id))."
                        : "The \(sessionType.displayName) session with \(other.user.name) is ready (session \(offer.sessionID?.rawValue ?? "?"))."
                )
            }
        }
    }
}

struct Offers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Session offers, newest first, from the cache.")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }

    func run() async throws {
        try await runCommand {
            let (client, _) = try await globals.signedInClient()
            let offers = try await client.offers()
            if globals.json {
                try JSONOutput.print(offers.map(JSONOutput.offer))
            } else {
                for offer in offers {
                    print(
                        "\(offer.id)  \(offer.type.rawValue) \(offer.durationMinutes) min  \(offer.state.rawValue)  expires \(Human.time(offer.expiresAt))"
                    )
                }
            }
        }
    }
}

/// accept, decline, stop: queued, delivered now when possible.
enum Answer {
    enum Kind { case accept, decline, stop }

    static func perform(_ kind: Kind, id: String, globals: GlobalOptions) async throws {
        try await runCommand {
            let (client, _) = try await globals.signedInClient()
            let entry: OutboxEntry =
                switch kind {
                case .accept: try await client.accept(OfferID(id))
                case .decline: try await client.decline(OfferID(id))
                case .stop: try await client.stop(SessionID(id))
                }
            if globals.json { try JSONOutput.print(JSONOutput.outbox(entry)) }
            if let error = entry.lastError, entry.state == .failed {
                throw CLIError(code: 65, message: "refused: \(error.reason) (\(error.code))")
            }
            let delivered = try await client.outbox().allSatisfy { $0.id != entry.id }
            if !globals.json {
                print(delivered ? "Done." : "Queued: it will be delivered when the server is reachable.")
            }
        }
    }
}

struct Accept: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accept an offer (queued when offline; the server decides).")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }
    @Argument var offer: String
    func run() async throws { try await Answer.perform(.accept, id: offer, globals: globals) }
}

struct Decline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decline an offer (queued when offline).")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }
    @Argument var offer: String
    func run() async throws { try await Answer.perform(.decline, id: offer, globals: globals) }
}

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop a session (therapist only; queued when offline).")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }
    @Argument var session: String
    func run() async throws { try await Answer.perform(.stop, id: session, globals: globals) }
}

struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Upcoming sessions with their countdown.")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }

    func run() async throws {
        try await runCommand {
            let (client, _) = try await globals.signedInClient()
            var rows: [(Session, SessionCountdown)] = []
            for session in try await client.upcomingSessions() {
                rows.append((session, await client.countdown(for: session)))
            }
            if globals.json {
                try JSONOutput.print(rows.map { JSONOutput.session($0.0, $0.1) })
            } else {
                if rows.isEmpty { print("No upcoming sessions.") }
                for (session, countdown) in rows {
                    print(
                        "\(session.id)  \(session.type.rawValue)  \(Human.time(session.startsAt))  \(session.durationMinutes) min  \(Human.countdown(countdown))"
                    )
                }
            }
        }
    }
}

struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "session", abstract: "One session and its countdown.")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }
    @Argument var id: String

    func run() async throws {
        try await runCommand {
            let (client, _) = try await globals.signedInClient()
            guard let session = try await client.session(SessionID(id)) else { throw DomainError.notFound }
            let countdown = await client.countdown(for: session)
            if globals.json {
                try JSONOutput.print(JSONOutput.session(session, countdown))
            } else {
                print(
                    "\(session.type.displayName) session, \(session.durationMinutes) min, \(Human.countdown(countdown)). Attend: \(session.attendPath)"
                )
            }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Connection and outbox status.")
    @ParentCommand var pg: PG
    var globals: GlobalOptions { pg.globals }

    func run() async throws {
        try await runCommand {
            let (client, _) = try await globals.signedInClient()
            // Probe the server without running the engine: a cheap authenticated sync attempt.
            try? await client.syncNow()
            let status = try await client.status()
            if globals.json {
                try JSONOutput.print(JSONOutput.status(status))
            } else {
                print(
                    "\(status.isOnline ? "online" : "offline"), last sync \(status.lastSuccessfulSync.map(Human.time) ?? "never"), \(status.pendingOutbox) pending, \(status.failedOutbox) failed"
                )
            }
        }
    }
}

struct Outbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Actions not yet confirmed by the server.", subcommands: [List.self, Retry.self, Discard.self],
        defaultSubcommand: List.self)
    @ParentCommand var pg: PG

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pending and failed entries with their error.")
        @ParentCommand var outbox: Outbox
        var globals: GlobalOptions { outbox.pg.globals }
        func run() async throws {
            try await runCommand {
                let (client, _) = try await globals.signedInClient()
                let entries = try await client.outbox()
                if globals.json {
                    try JSONOutput.print(entries.map(JSONOutput.outbox))
                } else {
                    if entries.isEmpty { print("The outbox is empty.") }
                    for entry in entries {
                        print(
                            "\(entry.id)  \(entry.state.rawValue)  attempts \(entry.attempts)\(entry.lastError.map { "  \($0.code): \($0.reason)" } ?? "")"
                        )
                    }
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a failed entry again.")
        @ParentCommand var outbox: Outbox
        var globals: GlobalOptions { outbox.pg.globals }
        @Argument var id: String
        func run() async throws {
            try await runCommand {
                let (client, _) = try await globals.signedInClient()
                try await client.retry(IdempotencyKey(id))
                if globals.json { try JSONOutput.print(["retried": id]) } else { print("Queued again.") }
            }
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give up an entry that is not in flight.")
        @ParentCommand var outbox: Outbox
        var globals: GlobalOptions { outbox.pg.globals }
        @Argument var id: String
        func run() async throws {
            try await runCommand {
                let (client, _) = try await globals.signedInClient()
                try await client.discard(IdempotencyKey(id))
                if globals.json { try JSONOutput.print(["discarded": id]) } else { print("Discarded.") }
            }
        }
    }
}
