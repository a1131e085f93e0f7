import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting
import PropertyBased
import Testing

/// The sync engine (outbox and pull, with real SQLite files) against ``ServerModel``, driven by
/// random command sequences: Alice writes, accepts and declines while the therapist writes and
/// offers, the server loses requests and answers, the client process crashes and restarts, the
/// feed is compacted and offers expire. After every step nothing is lost, nothing is stored
/// twice and Alice's texts are in order; at the end, with the faults gone, the cache is the
/// server's state.
@Suite struct ModelBasedSyncTests {
    enum Command: CustomStringConvertible {
        case send
        case therapistSends
        case therapistOffers
        case accept(Int)
        case decline(Int)
        case sync
        case fault(ServerModel.Fault)
        case compactFeed
        case advance(minutes: Double)
        case restart

        init(_ n: Int) {
            let faults: [ServerModel.Fault] = [.unreachable, .serverError, .answerLost, .crash]
            switch n % 20 {
            case 0...4: self = .send
            case 5, 6: self = .therapistSends
            case 7: self = .therapistOffers
            case 8, 9: self = .accept(n / 20)
            case 10: self = .decline(n / 20)
            case 11...13: self = .sync
            case 14...16: self = .fault(faults[(n / 20) % faults.count])
            case 17: self = .compactFeed
            case 18: self = .advance(minutes: (n / 20).isMultiple(of: 2) ? 31 : 61)
            default: self = .restart
            }
        }

        var description: String {
            switch self {
            case .send: "send"
            case .therapistSends: "therapistSends"
            case .therapistOffers: "therapistOffers"
            case .accept(let n): "accept(\(n))"
            case .decline(let n): "decline(\(n))"
            case .sync: "sync"
            case .fault(let fault): "fault(\(fault))"
            case .compactFeed: "compactFeed"
            case .advance(let minutes): "advance(\(Int(minutes)) min)"
            case .restart: "restart"
            }
        }
    }

    /// One run: a profile on disk, the model, and the client process (reopened on restart).
    final class Run: @unchecked Sendable {
        // @unchecked: used by one test task at a time.
        let model = ServerModel()
        let folder = PlusGuidanceClientTests.Folder()
        let clock = ManualWallClock(Fixtures.epoch)
        var client: PlusGuidanceClient!
        /// Alice's texts, in the order she wrote them.
        var written: [MessageID] = []

        func open() async throws {
            var configuration = ClientConfiguration(
                serverURL: URL(string: "http://model.invalid")!, profile: folder.path)
            configuration.localClock = clock
            configuration.elapsedClock = clock
            let model = model
            let clock = clock
            await client?.close()
            client = try await PlusGuidanceClient.open(configuration) { credentials in
                ModelTransport(model: model, onTokensChanged: credentials.save, clock: clock)
            }
        }

        func perform(_ command: Command) async throws {
            switch command {
            case .send:
                written.append(
                    try #require(try await client.send("text \(written.count)", to: ServerModel.therapist.id).message)
                        .id)
            case .therapistSends: try await model.therapistSends("from the therapist")
            case .therapistOffers: _ = try await model.therapistOffers()
            case .accept(let n), .decline(let n):
                let offers = try await client.offers()
                guard !offers.isEmpty else { return }
                let offer = offers[n % offers.count]
                let answeredHere = try await client.outbox().contains {
                    $0.action == .acceptOffer(offer.id) || $0.action == .declineOffer(offer.id)
                }
                let serverNow = await client.serverNow()
                let closedHere = offer.state != .pending || serverNow > offer.expiresAt
                do {
                    if case .accept = command {
                        _ = try await client.accept(offer.id)
                    } else {
                        _ = try await client.decline(offer.id)
                    }
                    // Queued: nothing on this device said it could only be refused.
                    #expect(!answeredHere && !closedHere, "queued an answer the cache already refuses")
                } catch let refusal as DomainError {
                    // Refused at once (R9): only what the cache and outbox already show.
                    #expect(answeredHere || closedHere, "refused (\(refusal)) with nothing here to show why")
                }
            case .sync: _ = try? await client.syncNow()
            case .fault(let fault): await model.inject(fault)
            case .compactFeed: await model.compactFeed()
            case .advance(let minutes):
                await model.advance(minutes: minutes)
                clock.advance(by: minutes * 60)
            case .restart: try await open()
            }
            // A crash fault killed the process during the call: start it again.
            if await model.takeCrashed() { try await open() }
        }

        /// Alice's texts the server stored, in its commit order.
        func delivered() async -> [MessageID] {
            await model.messages.filter { $0.senderID == ServerModel.alice.id && $0.kind == .text }.map(\.id)
        }

        func checkInvariants(after command: Command, step: Int) async throws {
            let context: Comment = "after step \(step), \(command)"
            let outbox = try await client.outbox()
            let delivered = await delivered()
            let queued = Set(outbox.compactMap { if case .sendMessage(let m) = $0.action { m.id } else { nil } })
            #expect(await model.commits.values.allSatisfy { $0 == 1 }, context)
            #expect(await model.messageCommits.values.allSatisfy { $0 == 1 }, context)
            #expect(delivered == written.filter(Set(delivered).contains), "out of order \(context)")
            #expect(written.allSatisfy { Set(delivered).contains($0) || queued.contains($0) }, "lost \(context)")
            #expect(outbox.allSatisfy { $0.state != .failed || !$0.action.isText }, "a text failed \(context)")
        }

        /// Faults gone, the process restarted: everything is delivered and the cache is the
        /// server's state.
        func checkConvergence() async throws {
            await model.clearFaults()
            try await open()
            for _ in 0..<5 {
                try await client.syncNow()
                if try await client.outbox().allSatisfy({ $0.state == .failed }) { break }
            }
            let outbox = try await client.outbox()
            #expect(outbox.allSatisfy { $0.state == .failed }, "\(outbox)")
            for entry in outbox {
                #expect(!entry.action.isText)
                #expect(["offer_expired", "offer_already_answered"].contains(entry.lastError?.code ?? ""), "\(entry)")
            }
            #expect(await delivered() == written)

            let cached = try await client.messages(with: ServerModel.therapist.id, limit: 100_000)
            let server = await model.messages.reversed()
            #expect(cached.map(\.id) == server.map(\.id))
            #expect(cached.map(\.body) == server.map(\.body))
            #expect(cached.allSatisfy { $0.deliveryState == .sent })
            let offers = try await client.offers()
            let serverOffers = await model.offers
            #expect(
                Dictionary(uniqueKeysWithValues: offers.map { ($0.id, $0.state) }) == serverOffers.mapValues(\.state))
            let upcoming = try await client.upcomingSessions()
            #expect(Set(upcoming.map(\.id)) == Set(await model.sessions.values.filter { $0.endedAt == nil }.map(\.id)))
        }
    }

    static func run(_ commands: [Command]) async throws {
        let run = Run()
        try await run.open()
        _ = try await run.client.signIn(email: "alice@example.com", password: "alice-pass")
        try await run.client.syncNow()
        for (step, command) in commands.enumerated() {
            try await run.perform(command)
            try await run.checkInvariants(after: command, step: step)
        }
        try await run.checkConvergence()
        await run.client.close()
    }

    @Test func randomHistoriesLoseNothingDuplicateNothingAndConverge() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...1_000_000).array(of: 1...40)) { numbers in
            do {
                try await Self.run(numbers.map(Command.init))
            } catch {
                // Printed too: the property runner keeps the input, not this text, when it shrinks.
                print("model-based run failed: \(error) (\(type(of: error))) in \(numbers.map(Command.init))")
                Issue.record("\(error) in \(numbers.map(Command.init))")
            }
        }
    }

    /// The worst case by hand: every text's first attempt commits and its answer is lost, then the
    /// process crashes in the middle of the replay.
    @Test func lostAnswersAndCrashesOnEveryTextStillDeliverEachOnceInOrder() async throws {
        var commands: [Command] = []
        for _ in 0..<5 { commands += [.fault(.answerLost), .send, .fault(.crash), .sync, .therapistSends] }
        commands += [.compactFeed, .sync]
        try await Self.run(commands)
    }

    @Test func theCommandDecoderReachesEveryCommand() {
        let kinds = Set((0..<4_096).map { String(String(describing: Command($0)).prefix { $0 != "(" }) })
        #expect(
            kinds == [
                "send", "therapistSends", "therapistOffers", "accept", "decline", "sync", "fault", "compactFeed",
                "advance", "restart",
            ])
    }
}

extension OutboxAction {
    fileprivate var isText: Bool { if case .sendMessage = self { true } else { false } }
}
