import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting
import Testing

/// `events()` and the observations report everything that happens after the call returns, on a
/// busy machine too: the two-client flow a new app writes first (the therapist offers, the
/// client hears of it at once), against the real `pg-server`, with busy processes on both cores.
@Suite(.serialized) struct EventsFromTheCallTests {
    typealias Folder = PlusGuidanceClientTests.Folder

    func client(_ server: ReferenceServerProcess, _ folder: Folder, _ name: String) async throws -> PlusGuidanceClient {
        var configuration = ClientConfiguration(serverURL: server.url, profile: folder.path + "/" + name)
        configuration.retry.maximumAttempts = 1
        let client = try await PlusGuidanceClient.open(configuration)
        _ = try await client.signIn(email: "\(name)@example.com", password: "\(name)-pass")
        try await client.syncNow()
        return client
    }

    /// The first event of `events` that `matches`; fails after 60 s (a bound for a miss, not a
    /// speed check: the cores are busy on purpose).
    func first(
        _ events: AsyncThrowingStream<AccountEvent, any Error>, _ what: String,
        _ matches: @escaping @Sendable (AccountEvent) -> Bool
    ) async throws -> AccountEvent {
        try await withThrowingTaskGroup(of: AccountEvent?.self) { group in
            group.addTask {
                for try await event in events where matches(event) { return event }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(60))
                throw TestFailure("missed: \(what)")
            }
            defer { group.cancelAll() }
            guard let event = try await group.next() ?? nil else { throw TestFailure("the events ended: \(what)") }
            return event
        }
    }

    @Test func everyOfferMadeRightAfterEventsReturnsIsReportedUnderLoad() async throws {
        let server = try await ReferenceServerProcess.launch(arguments: ["--seed", "demo", "--heartbeat", "1"])
        defer { server.stop() }
        let folder = Folder()
        let theo = try await client(server, folder, "therapist")
        let alice = try await client(server, folder, "alice")
        try await alice.startLive()  // R1: an offer needs the client online
        let load = try BusyProcesses(3)
        defer { load.stop() }

        for round in 1...(Int(ProcessInfo.processInfo.environment["PG_EVENT_ROUNDS"] ?? "") ?? 200) {
            let events = try await alice.events()
            // Nothing in between: the offer is made the moment events() returns.
            let offer = try await theo.createOffer(
                to: "usr_alice", options: OfferOptions(type: .chat, durationMinutes: 30))
            let made = try await first(events, "round \(round): the offer, new") {
                if case .offer(let seen, .new) = $0 { seen.id == offer.id } else { false }
            }
            guard case .offer(let seen, _) = made else { continue }
            #expect(seen.state == .pending)
            let answer = try await alice.decline(offer.id)
            #expect(try await answer.outcome(waitingUpTo: .seconds(60)) == .delivered)
            _ = try await first(events, "round \(round): the offer, declined") {
                if case .offer(let seen, .changed) = $0 {
                    seen.id == offer.id && seen.state == .declined
                } else {
                    false
                }
            }
        }
        await alice.close()
        await theo.close()
    }
}
