import ArgumentParser
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

struct Clients: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients", abstract: "Your clients (or your therapist), from the cache.")
    @ParentCommand var pg: PG

    func run() async throws {
        try await pg.globals.run(onlyReading: true) { client, _ in
            let contacts = try await client.contacts()
            // Every account has a counterpart (R1): none at all may be a damaged cache.
            if contacts.isEmpty { try await client.checkCache() }
            return Answer(
                json: contacts.map(ContractJSON.client),
                text: contacts.map { contact in
                    let unread = contact.unread > 0 ? "  \(contact.unread) unread" : ""
                    return
                        "\(contact.presence.isOnline ? "●" : "○") \(Human.safe(contact.user.name).padding(toLength: 18, withPad: " ", startingAt: 0)) \(Human.safe(contact.user.email))\(unread)"
                })
        }
    }
}

struct Messages: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messages",
        abstract: "The conversation with PEER (e-mail or id), oldest first (newest last).")
    @ParentCommand var pg: PG
    @Argument var peer: String
    @Option(parsing: .unconditional, help: "Show the latest N messages.") var limit = 20

    func validate() throws {
        guard (1...1_000).contains(limit) else { throw ValidationError("--limit must be 1...1000, not \(limit)") }
    }

    func run() async throws {
        try await pg.globals.run(onlyReading: true) { client, user in
            let other = try await contact(peer, in: client)
            let messages = try await client.messages(with: other.id, limit: limit).reversed()
            try await warnOfUnreadableMessages(client)
            return Answer(
                json: messages.map(ContractJSON.message), text: messages.map { Human.message($0, me: user.id) })
        }
    }
}

/// One line on stderr when reads left out cached messages they could not open (a damaged row).
func warnOfUnreadableMessages(_ client: PlusGuidanceClient) async throws {
    let unreadable = try await client.unreadableMessageCount()
    guard unreadable > 0 else { return }
    FileHandle.standardError.write(
        Data(
            "pg: \(unreadable) cached message(s) could not be read and are left out; the next sync fetches them again\n"
                .utf8))
}

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Messages matching TEXT, from the cache (offline too): the best match first.",
        discussion: """
            Every word of TEXT must begin a word of the message, case and accents aside: "cafe resume" \
            finds "Café résumé", "slee" finds "SLEEPLESS". Any TEXT is a query; one without a letter or \
            digit finds nothing. Ranked by relevance, then the newest first. TEXT `-` or --stdin reads \
            the query from standard input, out of the process list.
            """)
    @ParentCommand var pg: PG
    @OptionGroup var input: TextInput
    @Option(name: .customLong("with"), help: "Only the conversation with PEER (e-mail or id).") var peer: String?
    @Option(parsing: .unconditional, help: "Show at most N messages.") var limit = 20

    func validate() throws {
        guard (1...1_000).contains(limit) else { throw ValidationError("--limit must be 1...1000, not \(limit)") }
    }

    func run() async throws {
        let text = try input.read()
        try await pg.globals.run(onlyReading: true) { client, user in
            var other: UserID?
            if let peer { other = try await contact(peer, in: client).id }
            let hits = try await client.search(text, with: other, limit: limit)
            try await warnOfUnreadableMessages(client)
            return Answer(
                json: hits.map(ContractJSON.searchHit),
                text: hits.map { hit in
                    var shown = hit.message
                    shown.body = hit.snippet
                    return Human.message(shown, me: user.id)
                })
        }
    }
}

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send TEXT to PEER; waits for the server's answer, queued when offline (exit 0).",
        discussion:
            "TEXT `-` or --stdin reads the text from standard input (as `git commit -F -`), past the 128 KiB limit of one argument."
    )
    @ParentCommand var pg: PG
    @Argument var peer: String
    @OptionGroup var input: TextInput
    @OptionGroup var waiting: WaitOptions

    func run() async throws {
        let text = try input.read()
        try await pg.globals.run { client, _ in
            let other = try await contact(peer, in: client)
            let sent = try await client.send(text, to: other.id)
            let text = try await waiting.outcome(of: sent, on: client, done: "Sent.").text
            guard let message = sent.message else { throw CLIError(code: 70, message: "the text was not queued") }
            let shown = try await client.messages(with: other.id, limit: 50).first { $0.id == message.id } ?? message
            return Answer(json: ContractJSON.message(shown), text: text)
        }
    }
}
