import ArgumentParser
import Foundation

/// `pg`: the headless PlusGuidance client (BRIEF.md, command-line contract).
@main
struct PG: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pg",
        abstract: "A headless PlusGuidance client: messages and Instant Sessions, offline-first.",
        discussion: """
            Reading commands answer from the local cache without the network; writing commands queue \
            and deliver when the server is reachable (creating an offer needs it now).

            Exit codes: 0 done, 64 bad usage, 65 refused by a domain rule, 69 server unreachable, \
            77 not signed in, bad credentials, or the profile's key missing or wrong, 70 anything else.
            """,
        subcommands: [
            Login.self, Logout.self, WhoAmI.self, Sync.self, Clients.self, Messages.self, Send.self, Offer.self,
            Offers.self, Accept.self, Decline.self, Sessions.self, SessionCommand.self, Stop.self, Status.self,
            Outbox.self, Read.self, Watch.self, Search.self, Key.self, Demo.self,
        ])

    /// `pg [--server URL] [--profile DIR] [--json] COMMAND`: the options come before the command.
    @OptionGroup var globals: GlobalOptions
}
