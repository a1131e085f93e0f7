import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// R9 through the built binaries: `pg` commands answer with their outcome, on a profile that
/// `pg-syncd` keeps live and on one without, and the next command sees their effect.
@Suite struct TruthfulCommandTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Two profiles on one server: the therapist's (plain) and Alice's (optionally with a daemon).
    final class Kiosk: @unchecked Sendable {
        // @unchecked: `daemon` is set once by startDaemon() before any concurrent use.
        let server: RestartableReferenceServer
        let folder = FileManager.default.temporaryDirectory.path + "/pg-truth-\(UUID().uuidString)"
        var daemon: ChildProcess?

        init(server: RestartableReferenceServer) { self.server = server }

        /// A server whose database outlives restarts (kept in the kiosk's folder).
        static func launch(_ extra: [String] = []) async throws -> Kiosk {
            let folder = FileManager.default.temporaryDirectory.path + "/pg-truth-server-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            return Kiosk(
                server: try await RestartableReferenceServer.launch(
                    databasePath: folder + "/server.sqlite", arguments: ["--seed", "demo", "--test-clock"] + extra))
        }

        /// Both signed in (Alice's profile kept live by `pg-syncd` with `daemon`), an offer to
        /// Alice that her profile has, then the server stopped.
        static func withAnOfferAndTheServerDown(daemon: Bool) async throws -> (Kiosk, offer: String) {
            let kiosk = try await launch()
            do {
                try await kiosk.signIn()
                if daemon { try await kiosk.startDaemon() }
                guard let offer = try await kiosk.offer()["id"] as? String else {
                    throw Failure(description: "the offer has no id")
                }
                kiosk.server.stop()
                return (kiosk, offer)
            } catch {
                kiosk.stop()
                throw error
            }
        }

        func binary(_ name: String) throws -> String {
            guard let path = ReferenceServerProcess.productPath(name) else {
                throw Failure(description: "build \(name)")
            }
            return path
        }

        func pg(_ who: String, _ arguments: [String], stdin: String? = nil) async throws -> ProcessOutcome {
            try await runProcess(
                try binary("pg"),
                ["--server", server.url.absoluteString, "--profile", folder + "/" + who] + arguments, stdin: stdin)
        }

        func json(_ who: String, _ arguments: [String]) async throws -> Any? {
            let run = try await pg(who, ["--json"] + arguments)
            return try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
        }

        func signIn() async throws {
            for (who, email) in [("theo", "therapist@example.com"), ("alice", "alice@example.com")] {
                let password = email.split(separator: "@")[0] + "-pass\n"
                let run = try await pg(who, ["login", email, "--password-stdin"], stdin: String(password))
                guard run.status == 0 else { throw Failure(description: "login \(email): \(run.stderr)") }
            }
        }

        func startDaemon() async throws {
            daemon = try ChildProcess(
                try binary("pg-syncd"), ["--server", server.url.absoluteString, "--profile", folder + "/alice"])
            // Live: Alice shows online to her therapist.
            try await TruthfulCommandTests.eventually {
                _ = try await self.pg("theo", ["sync"])
                let clients = try await self.json("theo", ["clients"]) as? [[String: Any]]
                return clients?.first { $0["email"] as? String == "alice@example.com" }?["online"] as? Bool == true
            }
        }

        func offer(confirm: Bool = true) async throws -> [String: Any] {
            var arguments = ["offer", "alice@example.com", "--type", "video", "--duration", "45"]
            if !confirm { arguments.append("--no-confirmation") }
            guard let offer = try await json("theo", arguments) as? [String: Any] else {
                throw Failure(description: "offer failed: \(try await pg("theo", arguments).stderr)")
            }
            // Alice's profile has it (the daemon's stream, or a sync without one).
            let id = offer["id"] as? String
            try await TruthfulCommandTests.eventually {
                if self.daemon == nil { _ = try await self.pg("alice", ["sync"]) }
                let offers = try await self.json("alice", ["offers"]) as? [[String: Any]]
                return offers?.contains { $0["id"] as? String == id } == true
            }
            return offer
        }

        func stop() {
            if let daemon {
                daemon.signal(SIGTERM)
                daemon.wait(deadline: .now + .seconds(30))
            }
            server.stop()
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    static func eventually(_ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw Failure(description: "condition not met in time") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func eventually(_ condition: @Sendable () async throws -> Bool) async throws {
        try await Self.eventually(condition)
    }

    @Test(arguments: [true, false])
    func commandsAnswerWithTheServersOutcome(withDaemon: Bool) async throws {
        let kiosk = try await Kiosk.launch()
        defer { kiosk.stop() }
        try await kiosk.signIn()
        if withDaemon { try await kiosk.startDaemon() }

        // Decline: done, and the therapist's next sync shows it declined.
        let first = try await kiosk.offer()
        let firstID = try #require(first["id"] as? String)
        let decline = try await kiosk.pg("alice", ["decline", firstID])
        #expect(decline.status == 0, "\(decline.stderr)")
        #expect(decline.stdout.contains("Done."))
        _ = try await kiosk.pg("theo", ["sync"])
        let theoOffers = try #require(try await kiosk.json("theo", ["offers"]) as? [[String: Any]])
        #expect(theoOffers.first { $0["id"] as? String == firstID }?["state"] as? String == "declined")
        // R1: only the offered client answers; the therapist is refused at once, nothing queued.
        let notTheirs = try await kiosk.pg("theo", ["accept", firstID])
        #expect(notTheirs.status == 65)
        #expect(notTheirs.stderr.contains("not_offer_recipient"))
        #expect((try await kiosk.json("theo", ["outbox"]) as? [Any])?.isEmpty == true)
        // A second answer to the same offer is refused at once (65), nothing queued.
        let again = try await kiosk.pg("alice", ["accept", firstID])
        #expect(again.status == 65)
        #expect(again.stderr.contains("offer_already_answered"))

        // Accept: the session is in the very next read on the same profile.
        let second = try #require(try await kiosk.offer()["id"] as? String)
        let accept = try await kiosk.pg("alice", ["accept", second])
        #expect(accept.status == 0, "\(accept.stderr)")
        #expect(accept.stdout.contains("Done."))
        let sessions = try #require(try await kiosk.json("alice", ["sessions"]) as? [[String: Any]])
        let session = try #require(sessions.first?["id"] as? String)

        // A client stopping a session is refused locally (R6), nothing queued.
        let stop = try await kiosk.pg("alice", ["stop", session])
        #expect(stop.status == 65)
        #expect(stop.stderr.contains("not_session_therapist"))
        #expect((try await kiosk.json("alice", ["outbox"]) as? [Any])?.isEmpty == true)

        // A text: sent, and shown newest last as sent.
        let send = try await kiosk.pg("alice", ["send", "therapist@example.com", "see you soon"])
        #expect(send.status == 0, "\(send.stderr)")
        #expect(send.stdout.contains("Sent."))
        let messages = try #require(
            try await kiosk.json("alice", ["messages", "therapist@example.com"]) as? [[String: Any]])
        #expect(messages.last?["body"] as? String == "see you soon")
        #expect(messages.last?["deliveryState"] as? String == "sent")

        // Without confirmation the session shows at once on the therapist's profile, and stop
        // ends it for the next read.
        let instant = try await kiosk.offer(confirm: false)
        let instantSession = try #require(instant["sessionId"] as? String)
        let upcoming = try #require(try await kiosk.json("theo", ["sessions"]) as? [[String: Any]])
        #expect(upcoming.contains { $0["id"] as? String == instantSession })
        #expect(try await kiosk.pg("theo", ["session", instantSession]).status == 0)
        let stopped = try await kiosk.pg("theo", ["stop", instantSession])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let ended = try #require(try await kiosk.json("theo", ["session", instantSession]) as? [String: Any])
        #expect(ended["state"] as? String == "ended")

        // An offer that expired: refused with 65, and the refusal does not linger as failed.
        let late = try #require(try await kiosk.offer()["id"] as? String)
        try await TestClock.advance(kiosk.server.url, by: 3_601)
        let lateAccept = try await kiosk.pg("alice", ["accept", late])
        #expect(lateAccept.status == 65, "\(lateAccept.stdout)")
        #expect(lateAccept.stderr.contains("offer_expired"))
        let status = try #require(try await kiosk.json("alice", ["status"]) as? [String: Any])
        #expect(status["failedOutbox"] as? Int == 0)

        // An unknown session: 65 with a clear line.
        let unknown = try await kiosk.pg("alice", ["session", "ses_nothing"])
        #expect(unknown.status == 65)
        #expect(unknown.stderr.contains("unknown session"))
    }

    @Test(arguments: [true, false])
    func withTheServerDownActionsSayQueuedAndAreDeliveredLater(withDaemon: Bool) async throws {
        let (kiosk, offer) = try await Kiosk.withAnOfferAndTheServerDown(daemon: withDaemon)
        defer { kiosk.stop() }

        let started = ContinuousClock.now
        let send = try await kiosk.pg("alice", ["send", "therapist@example.com", "written offline"])
        let accept = try await kiosk.pg("alice", ["accept", offer])
        #expect(send.status == 0, "\(send.stderr)")
        #expect(send.stdout.contains("Queued: the server is unreachable"))
        #expect(accept.status == 0, "\(accept.stderr)")
        #expect(accept.stdout.contains("Queued:"))
        // Neither waited out the 10 s bound: the failed attempt answered at once.
        #expect(ContinuousClock.now - started < .seconds(60))
        let outbox = try #require(try await kiosk.json("alice", ["outbox"]) as? [[String: Any]])
        #expect(outbox.count == 2)
        // Status tells the truth beside the daemon too: its engine cannot reach the server.
        let down = try await kiosk.pg("alice", ["status"])
        #expect(down.status == 0, "\(down.stderr)")
        #expect(down.stdout.hasPrefix("offline"), "\(down.stdout)")
        #expect(down.stdout.contains("synced by process") == withDaemon, "\(down.stdout)")
        let downJSON = try #require(try await kiosk.json("alice", ["status"]) as? [String: Any])
        #expect(downJSON["online"] as? Bool == false)
        #expect(downJSON["pendingOutbox"] as? Int == 2)

        try await kiosk.server.start()
        if !withDaemon {
            let sync = try await kiosk.pg("alice", ["sync"])
            #expect(sync.status == 0, "\(sync.stderr)")
        }
        try await eventually { (try await kiosk.json("alice", ["outbox"]) as? [Any])?.isEmpty == true }
        // The delivery told the daemon the server is back: its stream reconnects without waiting
        // out its backoff, and status says online.
        try await eventually {
            (try await kiosk.json("alice", ["status"]) as? [String: Any])?["online"] as? Bool == true
        }
        _ = try await kiosk.pg("theo", ["sync"])
        let messages = try #require(
            try await kiosk.json("theo", ["messages", "alice@example.com"]) as? [[String: Any]])
        #expect(messages.filter { $0["body"] as? String == "written offline" }.count == 1)
        let offers = try #require(try await kiosk.json("theo", ["offers"]) as? [[String: Any]])
        #expect(offers.first { $0["id"] as? String == offer }?["state"] as? String == "accepted")
    }

    /// An accept queued offline carries its offer's expiry: when the server is back an hour
    /// later (its clock moved on), the entry ends failed with `offer_expired`, visible in
    /// `pg outbox`, and the offer is not accepted.
    @Test(arguments: [true, false])
    func anAcceptQueuedPastItsOffersExpiryFailsAndIsNotApplied(withDaemon: Bool) async throws {
        let (kiosk, offer) = try await Kiosk.withAnOfferAndTheServerDown(daemon: withDaemon)
        defer { kiosk.stop() }
        let accept = try await kiosk.pg("alice", ["accept", offer])
        #expect(accept.status == 0, "\(accept.stderr)")
        #expect(accept.stdout.contains("Queued:"))

        // Back an hour later: the clock is moved on as soon as the server listens. The daemon is
        // held still meanwhile (SIGSTOP): its reconnection's jittered backoff can be close to
        // nothing, and it then delivered the accept before the clock moved (a CI run waited
        // 120 s for a failure that could no longer come).
        kiosk.daemon?.signal(SIGSTOP)
        defer { kiosk.daemon?.signal(SIGCONT) }  // before kiosk.stop(), should anything below throw
        try await kiosk.server.start()
        let advance = HTTPRequest(
            method: .post, url: kiosk.server.url.appendingPathComponent("v1/test/clock/advance"),
            headers: [("Content-Type", "application/json")], body: Data(#"{"seconds": 3601}"#.utf8))
        let advanced = try await CurlHTTPClient().execute(advance).status
        kiosk.daemon?.signal(SIGCONT)
        #expect(advanced == 200)
        if !withDaemon {
            let sync = try await kiosk.pg("alice", ["sync"])
            #expect(sync.status == 0, "\(sync.stderr)")
        }
        try await eventually {
            let outbox = try await kiosk.json("alice", ["outbox"]) as? [[String: Any]]
            return outbox?.first?["state"] as? String == "failed"
        }
        let entry = try #require((try await kiosk.json("alice", ["outbox"]) as? [[String: Any]])?.first)
        #expect(entry["action"] as? String == "accept")
        #expect((entry["error"] as? [String: Any])?["code"] as? String == "offer_expired")
        let theoSync = try await kiosk.pg("theo", ["sync"])
        #expect(theoSync.status == 0, "\(theoSync.stderr)")
        let offers = try #require(try await kiosk.json("theo", ["offers"]) as? [[String: Any]])
        #expect(offers.first { $0["id"] as? String == offer }?["state"] as? String == "expired")
        #expect((try await kiosk.json("theo", ["sessions"]) as? [Any])?.isEmpty == true)
    }

    @Test func noWaitReturnsOnceTheActionIsDurable() async throws {
        let kiosk = try await Kiosk.launch()
        defer { kiosk.stop() }
        try await kiosk.signIn()
        try await kiosk.startDaemon()
        let run = try await kiosk.pg("alice", ["send", "therapist@example.com", "fire and forget", "--no-wait"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("Queued."))
        try await eventually { (try await kiosk.json("alice", ["outbox"]) as? [Any])?.isEmpty == true }
    }

    /// Hardening #1: `pg` and `pg-syncd` both refresh the short-lived tokens of one profile;
    /// the single-use refresh token is never reused, so the sign-in is never revoked.
    @Test func aKioskProfileStaysSignedInAcrossTokenRefreshesByBothProcesses() async throws {
        let kiosk = try await Kiosk.launch(["--access-token-lifetime", "1"])
        defer { kiosk.stop() }
        try await kiosk.signIn()
        try await kiosk.startDaemon()
        for round in 0..<8 {
            try await Task.sleep(for: .milliseconds(1_200))
            let send = try await kiosk.pg("alice", ["send", "therapist@example.com", "round \(round)"])
            #expect(send.status == 0, "round \(round): \(send.stderr)")
            #expect(send.stdout.contains("Sent."), "round \(round): \(send.stdout)")
        }
        #expect(try await kiosk.pg("alice", ["whoami"]).status == 0)
        // The daemon is still signed in and live: Alice is online for her therapist.
        _ = try await kiosk.pg("theo", ["sync"])
        let clients = try #require(try await kiosk.json("theo", ["clients"]) as? [[String: Any]])
        #expect(clients.first { $0["email"] as? String == "alice@example.com" }?["online"] as? Bool == true)
    }
}

/// A text queued while the server was down held back every later `pg send` to the same person
/// ("Queued: the server is unreachable") until someone ran `pg sync`, although the server was
/// back: a send queued behind an earlier message was never attempted. Now the send goes
/// through the queue in order once the earlier one's backoff is over.
@Suite struct QueuedBehindTests {
    @Test func aSendAfterTheServerIsBackDeliversWhatWaitedBeforeIt() async throws {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-behind-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try await RestartableReferenceServer.launch(databasePath: folder + "/server.sqlite")
        defer { server.shutdown() }
        let pg = try #require(ReferenceServerProcess.productPath("pg"))
        let base = ["--server", server.url.absoluteString, "--profile", folder + "/alice"]
        let login = try await runProcess(
            pg, base + ["login", "alice@example.com", "--password-stdin"], stdin: "alice-pass\n")
        #expect(login.status == 0, "\(login.stderr)")

        server.stop()
        let queued = try await runProcess(pg, base + ["send", "therapist@example.com", "while down"])
        #expect(queued.status == 0)
        #expect(queued.stdout.hasPrefix("Queued: the server is unreachable"), "\(queued.stdout)")
        try await server.start()
        // The first retry waits at most the initial backoff (200 ms, full jitter).
        try await Task.sleep(for: .milliseconds(400))

        let next = try await runProcess(pg, base + ["send", "therapist@example.com", "once back"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stdout == "Sent.\n", "\(next.stdout)")
        let outbox = try await runProcess(pg, base + ["--json", "outbox"])
        #expect(outbox.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(outbox.stdout)")
        let messages = try await runProcess(pg, base + ["messages", "therapist@example.com"])
        let lines = messages.stdout.split(separator: "\n").filter { $0.contains("you: ") }
        #expect(lines.map { $0.components(separatedBy: "you: ").last ?? "" } == ["while down", "once back"])
    }
}
