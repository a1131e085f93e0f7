import ArgumentParser
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

struct Outbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Actions not yet confirmed by the server.", subcommands: [List.self, Retry.self, Discard.self],
        defaultSubcommand: List.self)
    @ParentCommand var pg: PG

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List pending and failed entries with their error.")
        @ParentCommand var outbox: Outbox
        func run() async throws {
            try await outbox.pg.globals.run(onlyReading: true) { client, _ in
                let entries = try await client.outbox()
                return Answer(
                    json: entries.map(ContractJSON.outbox),
                    text: entries.isEmpty
                        ? ["The outbox is empty."]
                        : entries.map { entry in
                            "\(entry.id)  \(entry.state.rawValue)  attempts \(entry.attempts)\(entry.lastError.map { "  \($0.code): \(Human.safe($0.reason))" } ?? "")"
                        })
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "retry", abstract: "Queue a failed entry again.")
        @ParentCommand var outbox: Outbox
        @Argument var id: String
        func run() async throws {
            try await outbox.pg.globals.run { client, _ in
                try await client.retry(IdempotencyKey(id))
                return Answer(json: ["retried": id], text: "Queued again.")
            }
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "discard", abstract: "Give up an entry that is not in flight.")
        @ParentCommand var outbox: Outbox
        @Argument var id: String
        func run() async throws {
            try await outbox.pg.globals.run { client, _ in
                try await client.discard(IdempotencyKey(id))
                return Answer(json: ["discarded": id], text: "Discarded.")
            }
        }
    }
}
