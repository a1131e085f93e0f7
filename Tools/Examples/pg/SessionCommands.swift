import ArgumentParser
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

struct Offer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offer",
        abstract: "Offer an Instant Session to CLIENT (needs the server; never queued).")
    @ParentCommand var pg: PG
    @Argument var client: String
    @Option(help: "video, voice or chat.") var type: String
    @Option(help: "Expected duration in minutes.") var duration: Int
    @Flag(help: "Start at once, without the client's confirmation.") var noConfirmation = false
    @Option(help: "Start time (ISO 8601); default now.") var at: String?

    func run() async throws {
        try await pg.globals.run { pg, _ in
            let sessionType = try SessionType(parsing: type)
            var start: Date?
            if let at {
                guard let parsed = WireDecoding.time(at) else { throw CLIError.usage("--at must be an ISO 8601 time") }
                start = parsed
            }
            let other = try await contact(client, in: pg)
            let offer = try await pg.createOffer(
                to: other.id,
                options: OfferOptions(
                    type: sessionType, startsAt: start, durationMinutes: duration, requiresConfirmation: !noConfirmation
                ))
            let name = Human.safe(other.user.name)
            return Answer(
                json: ContractJSON.offer(offer),
                text: offer.requiresConfirmation
                    ? "Offered a \(sessionType.displayName) session of \(duration) minutes to \(name); waiting for an answer (offer \(offer.id))."
                    : "The \(sessionType.displayName) session with \(name) is ready (session \(offer.sessionID?.rawValue ?? "?"))."
            )
        }
    }
}

struct Offers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offers", abstract: "Session offers, newest first, from the cache.")
    @ParentCommand var pg: PG

    func run() async throws {
        try await pg.globals.run(onlyReading: true) { client, _ in
            let offers = try await client.offers()
            return Answer(
                json: offers.map(ContractJSON.offer),
                text: offers.map {
                    "\($0.id)  \($0.type.rawValue) \($0.durationMinutes) min  \($0.state.rawValue)  expires \(Human.time($0.expiresAt))"
                })
        }
    }
}

/// accept, decline, stop: refused at once by what the cache knows, else queued and answered
/// with the server's outcome, whichever process delivers it.
struct AnswerAction {
    enum Kind { case accept, decline, stop }

    static func perform(_ kind: Kind, id: String, globals: GlobalOptions, waiting: WaitOptions) async throws {
        try await globals.run { client, _ in
            let action: QueuedAction =
                switch kind {
                case .accept: try await client.accept(OfferID(id))
                case .decline: try await client.decline(OfferID(id))
                case .stop: try await client.stop(SessionID(id))
                }
            let (delivered, text) = try await waiting.outcome(of: action, on: client, done: "Done.")
            let now =
                try await client.outboxEntry(action.id)
                ?? OutboxEntry(id: action.id, action: action.action, enqueuedAt: action.enqueuedAt)
            var json = ContractJSON.outbox(now)
            json["delivered"] = delivered
            return Answer(json: json, text: text)
        }
    }
}

struct Accept: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accept",
        abstract: "Accept an offer (queued when offline; the server decides).")
    @ParentCommand var pg: PG
    @Argument var offer: String
    @OptionGroup var waiting: WaitOptions
    func run() async throws {
        try await AnswerAction.perform(.accept, id: offer, globals: pg.globals, waiting: waiting)
    }
}

struct Decline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decline", abstract: "Decline an offer (queued when offline).")
    @ParentCommand var pg: PG
    @Argument var offer: String
    @OptionGroup var waiting: WaitOptions
    func run() async throws {
        try await AnswerAction.perform(.decline, id: offer, globals: pg.globals, waiting: waiting)
    }
}

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop a session (therapist only; queued when offline).")
    @ParentCommand var pg: PG
    @Argument var session: String
    @OptionGroup var waiting: WaitOptions
    func run() async throws {
        try await AnswerAction.perform(.stop, id: session, globals: pg.globals, waiting: waiting)
    }
}

struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "Upcoming sessions with their countdown.")
    @ParentCommand var pg: PG

    func run() async throws {
        try await pg.globals.run(onlyReading: true) { client, _ in
            var rows: [(Session, SessionCountdown)] = []
            for session in try await client.upcomingSessions() {
                rows.append((session, await client.countdown(for: session)))
            }
            let known = await client.knownServerTime()
            let guessed = !rows.isEmpty && known == nil
            return Answer(
                json: rows.map { ContractJSON.session($0.0, $0.1) },
                text: rows.isEmpty
                    ? ["No upcoming sessions."]
                    : rows.map { session, countdown in
                        "\(session.id)  \(session.type.rawValue)  \(Human.time(session.startsAt))  \(session.durationMinutes) min  \(Human.countdown(countdown))"
                    } + (guessed ? [Human.serverTimeUnknown] : []))
        }
    }
}

struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "session", abstract: "One session and its countdown.")
    @ParentCommand var pg: PG
    @Argument var id: String

    func run() async throws {
        try await pg.globals.run(onlyReading: true) { client, _ in
            guard let session = try await client.session(SessionID(id)) else {
                throw CLIError(
                    code: 65,
                    message:
                        "unknown session \(Human.safe(id)): not in the cache, and the server does not know it or cannot be reached"
                )
            }
            let countdown = await client.countdown(for: session)
            let guessed = await client.knownServerTime() == nil
            return Answer(
                json: ContractJSON.session(session, countdown),
                text: [
                    "\(session.type.displayName) session, \(session.durationMinutes) min, \(Human.countdown(countdown)). Attend: \(session.attendPath)"
                ] + (guessed ? [Human.serverTimeUnknown] : [])
            )
        }
    }
}
