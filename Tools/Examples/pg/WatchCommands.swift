import ArgumentParser
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

struct Read: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Mark the conversation with PEER read up to its latest message (queued when offline).")
    @ParentCommand var pg: PG
    @Argument var peer: String
    @OptionGroup var waiting: WaitOptions

    func run() async throws {
        try await pg.globals.run { client, _ in
            let other = try await contact(peer, in: client)
            var text = "Nothing new to read."
            if let receipt = try await client.markRead(conversationWith: other.id) {
                text = try await waiting.outcome(of: receipt, on: client, done: "Read.").text
            }
            // The unread count as this device now shows it (a queued receipt counts as read).
            let now = try await client.contacts().first { $0.id == other.id } ?? other
            return Answer(json: ContractJSON.client(now), text: text)
        }
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow the account live, one line per event, until SIGINT or SIGTERM (exit 0).",
        discussion: """
            Says "pg: watching" on stderr once it follows the account: everything that happens from \
            then on is printed. Prints each message (new, sent, failed, read), offer (made, answered, expired), session (ready, \
            reminder, started, overtime, ended) and contact presence change as it happens. Beside pg-syncd \
            it follows the daemon's cache; without one it keeps the live connection itself. With --json, \
            one object a line: {"event": "message"|"offer"|"session"|"presence", "change": …, and the \
            message, offer, session or client}. While the server cannot be reached it says so on stderr \
            and carries on when it is back.
            """)
    @ParentCommand var pg: PG
    @Option(help: "Announce a scheduled session this many minutes before it starts.") var remind: Double = 5

    func validate() throws {
        guard remind.isFinite, (0...1_440).contains(remind) else {
            throw ValidationError("--remind must be 0...1440 minutes")
        }
    }

    func run() async throws {
        let json = pg.globals.json
        try await runCommand {
            let (client, user) = try await pg.globals.signedInClient()
            let signals = Self.stopOnSignals(client)
            defer { signals.forEach { $0.cancel() } }
            // Beside pg-syncd this waits for the engine, following the daemon's cache meanwhile;
            // alone it keeps the connection itself.
            try await client.startLive()
            let notices = Task { await Self.announceConnection(client) }
            defer { notices.cancel() }
            var names = try await Self.names(client)
            let events = try await client.events(reminderLead: .milliseconds(Int64(remind * 60_000)))
            // From here on nothing is missed: a script may act once it reads this line.
            FileHandle.standardError.write(Data("pg: watching; every change from now on is printed\n".utf8))
            for try await event in events {
                if case .presence = event { names = try await Self.names(client) }
                let line: String
                if json {
                    let data = try JSONSerialization.data(
                        withJSONObject: await ContractJSON.event(event, on: client),
                        options: [.sortedKeys, .withoutEscapingSlashes])
                    line = String(decoding: data, as: UTF8.self)
                } else {
                    line = await Self.text(event, me: user.id, names: names, client: client)
                }
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
            // The stream ends when the account signs out (another process, or idle sign-out).
            throw CLIError.notSignedIn
        }
    }

    /// SIGINT and SIGTERM hand the engine back and exit 0.
    private static func stopOnSignals(_ client: PlusGuidanceClient) -> [any DispatchSourceSignal] {
        let queue = DispatchQueue(label: "pg.watch.signals")
        return [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                // At most two seconds to let go of the engine cleanly; the lock is the process's
                // anyway, and the outbox replays an interrupted attempt with its key. `_exit`:
                // every line went out unbuffered already, and `exit`'s atexit handlers can
                // block on a lock another thread holds at this moment.
                queue.asyncAfter(deadline: .now() + 2) { _exit(0) }
                Task {
                    await client.close()
                    _exit(0)
                }
            }
            source.resume()
            return source
        }
    }

    /// Says on stderr when the account's connection is lost and when it is back.
    private static func announceConnection(_ client: PlusGuidanceClient) async {
        var wasOnline: Bool?
        do {
            for try await status in try await client.observeStatus() {
                if case .offline(let reason) = status.phase, wasOnline != false {
                    wasOnline = false
                    FileHandle.standardError.write(Data("pg: waiting for the server (\(reason))…\n".utf8))
                } else if status.phase == .live || (status.isOnline && status.isRunByAnotherProcess) {
                    if wasOnline == false { FileHandle.standardError.write(Data("pg: connected again\n".utf8)) }
                    wasOnline = true
                }
            }
        } catch {}
    }

    private static func names(_ client: PlusGuidanceClient) async throws -> [UserID: String] {
        Dictionary(try await client.contacts().map { ($0.id, Human.safe($0.user.name)) }) { first, _ in first }
    }

    static func text(
        _ event: AccountEvent, me: UserID, names: [UserID: String], client: PlusGuidanceClient
    ) async -> String {
        func name(_ id: UserID) -> String { id == me ? "you" : names[id] ?? id.rawValue }
        switch event {
        case .message(let m, let change):
            var state = ""
            if change == .changed {
                state =
                    if let readAt = m.readAt { " (read \(Human.time(readAt)))" } else {
                        " (\(m.deliveryState.rawValue))"
                    }
            } else if m.deliveryState != .sent {
                state = " (\(m.deliveryState.rawValue))"
            }
            let label = m.kind == .text ? "" : " [\(m.kind.rawValue)]"
            return
                "message  \(Human.time(m.createdAt))  \(name(m.senderID)) → \(name(m.recipientID))\(label): \(Human.safe(m.body))\(state)"
        case .offer(let o, let change):
            let what = change == .new ? "offered" : o.state.rawValue
            return
                "offer    \(o.type.displayName) session of \(o.durationMinutes) min with \(name(o.therapistID == me ? o.clientID : o.therapistID)): \(what) (offer \(o.id))"
        case .session(let s, let change):
            let countdown = await client.countdown(for: s)
            let detail: String =
                switch change {
                case .ready: "ready, starts \(Human.time(s.startsAt))"
                case .reminder: "reminder: \(Human.countdown(countdown))"
                case .started: "started, \(Human.countdown(countdown))"
                case .overtime: "in overtime, \(Human.countdown(countdown))"
                case .ended: "ended"
                }
            return
                "session  \(s.type.displayName) session with \(name(s.therapistID == me ? s.clientID : s.therapistID)): \(detail) (session \(s.id))"
        case .presence(let c):
            return "presence \(Human.safe(c.user.name)) is \(c.presence.isOnline ? "online" : "offline")"
        }
    }
}
