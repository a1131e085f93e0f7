import ArgumentParser
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting

/// `pg demo`: the whole Instant Session flow for a therapist and a client, against the built
/// reference server (`pg-server`, found beside `pg`, on `PATH`, or through `PG_SERVER_BINARY`),
/// started as a child process on a free loopback port with a temporary database and profiles.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Walk through the Instant Session flow on an embedded server.")

    func run() async throws {
        try await runCommand { try await DemoScript().run() }
    }
}

private struct DemoScript {
    func step(_ title: String) { print("\n== \(title)") }
    func say(_ who: String, _ text: String) {
        print("   \(who.padding(toLength: 15, withPad: " ", startingAt: 0)) \(text)")
    }

    func run() async throws {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-demo-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        let database = folder + "/server.sqlite"
        var server = try await ReferenceServerProcess.launch(
            databasePath: database, arguments: ["--seed", "demo", "--test-clock", "--access-token-lifetime", "86400"])
        defer { server.stop() }
        print(
            "PlusGuidanceKit demo: a reference server on \(server.url.absoluteString), two people, one Instant Session."
        )

        func client(_ name: String) async throws -> PlusGuidanceClient {
            var settings = ClientConfiguration(serverURL: server.url, profile: folder + "/" + name)
            settings.retry.maximumAttempts = 1
            // The demo's profiles are temporary: so is their key (not ~/.config/plusguidance/key).
            settings.keys = FileKeyProvider(path: folder + "/demo.key", origin: "demo key")
            return try await PlusGuidanceClient.open(settings)
        }
        let theo = try await client("therapist")
        let alice = try await client("alice")

        step("Both sign in")
        let therapist = try await theo.signIn(email: "therapist@example.com", password: "therapist-pass")
        let client = try await alice.signIn(email: "alice@example.com", password: "alice-pass")
        try await theo.syncNow()
        try await alice.syncNow()
        try await alice.startLive()
        say(therapist.name, "signed in as a therapist")
        say(client.name, "signed in as a client and keeps a live connection (she is online)")

        step("The therapist's client list, with presence")
        try await theo.syncNow()
        for contact in try await theo.contacts() {
            say(therapist.name, "\(contact.presence.isOnline ? "●" : "○") \(contact.user.name) <\(contact.user.email)>")
        }

        step("A message, then an Instant Session offer that needs Alice's confirmation")
        _ = try await theo.send("Hi Alice, do you have time for a quick video call?", to: client.id)
        let offer = try await theo.createOffer(to: client.id, options: OfferOptions(type: .video, durationMinutes: 50))
        say(therapist.name, "offered a video session of 50 minutes (\(offer.state.rawValue), answer within an hour)")
        try await waitFor { try await alice.offers().contains { $0.id == offer.id } }
        for message in try await alice.messages(with: therapist.id, limit: 2).reversed() {
            say(client.name, "sees: \(Human.safe(message.body))")
        }

        step("Alice accepts")
        _ = try await alice.accept(offer.id)
        // The accept's answer caches the session at once; the "ready" message follows on the feed.
        try await waitFor {
            let ready = try await alice.messages(with: therapist.id, limit: 5).contains { $0.kind == .sessionReady }
            let sessions = try await alice.upcomingSessions()
            return ready && sessions.count == 1
        }
        let ready = try await alice.messages(with: therapist.id, limit: 5).first { $0.kind == .sessionReady }
        say(client.name, "sees: \(ready?.body ?? "?")")
        try await theo.syncNow()
        let link = try await theo.messages(with: client.id, limit: 5).first { $0.kind == .sessionLink }
        say(therapist.name, "sees: \(link?.body ?? "?")")

        step("Upcoming sessions, on both dashboards, without a refresh")
        guard let session = try await theo.upcomingSessions().first else {
            throw CLIError(code: 70, message: "no session")
        }
        for (who, pg) in [(therapist.name, theo), (client.name, alice)] {
            for upcoming in try await pg.upcomingSessions() {
                say(
                    who,
                    "\(upcoming.type.displayName) session, \(upcoming.durationMinutes) min, \(Human.countdown(await pg.countdown(for: upcoming))), attend at \(upcoming.attendPath)"
                )
            }
        }

        step("55 minutes later (the server's test clock moves): the session runs into overtime")
        try await TestClock.advance(server.url, by: 55 * 60)
        // The clock estimate is a median of recent answers: a few calls let it follow the jump.
        for _ in 0..<6 { try await theo.syncNow() }
        say(therapist.name, "session window: \(Human.countdown(await theo.countdown(for: session)))")
        say(
            therapist.name,
            "the session is still \(await theo.countdown(for: session).state.rawValue): only Stop ends it")

        step("Only the therapist can stop it")
        _ = try await theo.stop(session.id)
        try await waitFor {
            let ended = try await alice.messages(with: therapist.id, limit: 5).contains { $0.kind == .sessionEnded }
            let sessions = try await alice.upcomingSessions()
            return ended && sessions.isEmpty
        }
        let ended = try await alice.messages(with: therapist.id, limit: 5).first { $0.kind == .sessionEnded }
        say(therapist.name, "stopped the session")
        say(client.name, "sees: \(ended?.body ?? "?")")
        say(client.name, "upcoming sessions: none")

        step("Offline: the server goes away, Alice writes anyway")
        await alice.stopLive()
        let port = server.url.port ?? 0
        server.stop()
        let sent = try await alice.send("Thank you, that helped a lot.", to: therapist.id)
        let queued = sent.message?.id
        say(client.name, "wrote \"\(sent.message?.body ?? "?")\" → \(sent.message?.deliveryState.rawValue ?? "?")")
        say(client.name, "outbox: \(try await alice.status().pendingOutbox) pending")

        step("Back online: delivered once, in order")
        server = try await ReferenceServerProcess.launch(
            databasePath: database, port: port, arguments: ["--test-clock", "--access-token-lifetime", "86400"])
        try await waitFor {
            try? await alice.syncNow()
            return try await alice.outbox().isEmpty
        }
        try await theo.syncNow()
        let delivered = try await alice.messages(with: therapist.id, limit: 10).first { $0.id == queued }
        say(client.name, "outbox: empty; the message is \(delivered?.deliveryState.rawValue ?? "?")")
        let received = try await theo.messages(with: client.id, limit: 10).filter { $0.id == queued }
        say(
            therapist.name,
            "received it \(received.count == 1 ? "once" : "\(received.count) times"): \(received.first?.body ?? "?")")

        print("\nDone. Everything ran against a real HTTP server and real SQLite files, removed now.")
    }

    func waitFor(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<200 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CLIError(code: 70, message: "the demo timed out waiting for the server")
    }
}
