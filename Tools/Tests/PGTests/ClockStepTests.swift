import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// R12 through the built binaries: the device's clock stepped under `pg-syncd`, `pg` and
/// `pg watch` (as NTP steps a kiosk's clock a little after boot), the daemon suspended, and the
/// server's test clock stepped with and without a live stream. In each, what the next command
/// shows agrees with the server's own view.
///
/// The device's clock is stepped by `libPGClockShim.so` (LD_PRELOAD), which moves the calendar
/// clock alone, as a real step does. libfaketime, the usual tool, cannot run a Swift program
/// here: Debian 12's 0.9.10 shifts absolute timerfd deadlines on the monotonic clock by its
/// offset too, so every `Task.sleep` waits hours (and preloaded without its `faketime` wrapper
/// it leaves a Swift program without its arguments).
@Suite(.serialized) struct ClockStepTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// How wrong a process's calendar clock is: off by `offset` seconds, and put right
    /// `stepsAfter` seconds after the process started, or never.
    struct DeviceClock {
        var offset: Int
        var stepsAfter: Int?

        var environment: [String: String] {
            get throws {
                guard let shim = ReferenceServerProcess.productPath("libPGClockShim.so") else {
                    throw Failure(description: "build libPGClockShim.so")
                }
                var environment = ["LD_PRELOAD": shim, "PG_CLOCK_OFFSET": "\(offset)"]
                if let stepsAfter { environment["PG_CLOCK_STEP_AFTER"] = "\(stepsAfter)" }
                return environment
            }
        }
    }

    /// A server with a test clock, the therapist's profile and Alice's (the kiosk).
    final class Kiosk: @unchecked Sendable {
        // @unchecked: `daemon` is set before any concurrent use and read after.
        let server: RestartableReferenceServer
        let folder = FileManager.default.temporaryDirectory.path + "/pg-clock-\(UUID().uuidString)"
        let theo: PlusGuidanceAPI
        var daemon: ChildProcess?

        init() async throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            server = try await RestartableReferenceServer.launch(
                databasePath: folder + "/server.sqlite", arguments: ["--seed", "demo", "--test-clock"])
            theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
            _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        }

        func binary(_ name: String) throws -> String {
            guard let path = ReferenceServerProcess.productPath(name) else {
                throw Failure(description: "build \(name)")
            }
            return path
        }

        func pg(
            _ who: String, _ arguments: [String], clock: DeviceClock? = nil, stdin: String? = nil
        ) async throws -> ProcessOutcome {
            try await runProcess(
                try binary("pg"), ["--server", server.url.absoluteString, "--profile", folder + "/" + who] + arguments,
                stdin: stdin, environment: try clock?.environment ?? [:])
        }

        func json(_ who: String, _ arguments: [String], clock: DeviceClock? = nil) async throws -> Any? {
            let run = try await pg(who, ["--json"] + arguments, clock: clock)
            return try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
        }

        func signIn(_ who: String, _ email: String, clock: DeviceClock? = nil) async throws {
            let password = email.split(separator: "@")[0] + "-pass\n"
            let run = try await pg(who, ["login", email, "--password-stdin"], clock: clock, stdin: String(password))
            guard run.status == 0 else { throw Failure(description: "login \(email): \(run.stderr)") }
        }

        /// `pg-syncd` on Alice's profile, on `clock`; returns once its event stream is open.
        func startDaemon(clock: DeviceClock? = nil) async throws {
            let metrics = freeLoopbackPort()
            daemon = try ChildProcess(
                try binary("pg-syncd"),
                [
                    "--server", server.url.absoluteString, "--profile", folder + "/alice", "--metrics-port",
                    "\(metrics)",
                ], environment: try clock?.environment ?? [:])
            let http = CurlHTTPClient()
            try await waitUntil {
                let page = try? await http.execute(
                    HTTPRequest(url: URL(string: "http://127.0.0.1:\(metrics)/metrics")!))
                return String(decoding: page?.body ?? Data(), as: UTF8.self).contains("pg_live 1")
            }
        }

        /// The server's time now, as its own answer tells it (to the millisecond).
        func serverNow() async throws -> Date {
            _ = try await theo.me()
            guard let now = await theo.serverTimeEstimate?.serverNow(on: SystemElapsedClock()) else {
                throw Failure(description: "no server time")
            }
            return now
        }

        /// The therapist offers Alice a 45-minute video session; returns the offer.
        func offer(confirm: Bool = true, startsAt: Date? = nil) async throws -> SessionOffer {
            try await theo.createOffer(
                to: "usr_alice",
                options: OfferOptions(
                    type: .video, startsAt: startsAt, durationMinutes: 45, requiresConfirmation: confirm),
                idempotencyKey: IdempotencyKey("k_\(UUID().uuidString)"))
        }

        /// Waits until Alice's profile has the offer (a sync of its own when no daemon runs).
        func aliceHas(_ offer: OfferID) async throws {
            try await waitUntil {
                if self.daemon == nil { _ = try await self.pg("alice", ["sync"]) }
                let offers = try await self.json("alice", ["offers"]) as? [[String: Any]]
                return offers?.contains { $0["id"] as? String == offer.rawValue } == true
            }
        }

        /// What `pg session` shows on `who`'s profile, and the server's own countdown, read just
        /// after.
        func countdowns(
            _ session: SessionID, on who: String, clock: DeviceClock? = nil
        ) async throws -> (shown: [String: Any], server: ServerView) {
            let stored = try await theo.session(session)
            let before = stored.countdown(at: try await serverNow())
            let shown = try await json(who, ["session", session.rawValue], clock: clock) as? [String: Any]
            let after = stored.countdown(at: try await serverNow())
            return (try #require(shown, "pg session \(session) on \(who)"), ServerView(before: before, after: after))
        }

        func stop() {
            if let daemon {
                daemon.signal(SIGCONT)
                daemon.signal(SIGTERM)
                daemon.wait(deadline: .now + .seconds(30))
            }
            server.shutdown()
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    /// `shown` (a `pg --json session`) agrees with the server's countdown within a second (and
    /// the time between the two reads).
    /// The server's countdown just before and just after a `pg session` ran: what it showed
    /// must lie between them (a loaded machine takes seconds to run a process).
    struct ServerView: CustomStringConvertible {
        var before: SessionCountdown
        var after: SessionCountdown
        var state: Session.State { after.state }
        var remainingSeconds: Int { after.remainingSeconds }
        var description: String { "\(before) … \(after)" }
    }

    /// `shown` (a `pg --json session`) agrees with the server's countdown within a second of the
    /// time it ran.
    static func expectAgree(_ shown: [String: Any], _ server: ServerView, _ what: String) {
        #expect(
            [server.before.state.rawValue, server.after.state.rawValue].contains(shown["state"] as? String ?? ""),
            "\(what): \(shown)")
        func signed(_ remaining: Int, _ overtime: Int) -> Int { remaining > 0 ? remaining : -overtime }
        let value = signed(shown["remainingSeconds"] as? Int ?? .min / 2, shown["overtimeSeconds"] as? Int ?? 0)
        let earliest = signed(server.before.remainingSeconds, server.before.overtimeSeconds)
        let latest = signed(server.after.remainingSeconds, server.after.overtimeSeconds)
        #expect(latest - 1 <= value && value <= earliest + 1, "\(what): \(value) s shown, server \(server)")
    }

    /// The issue's kiosk: it boots with its clock two hours off, `pg-syncd` starts, NTP puts the
    /// clock right; then a fresh offer is accepted and the session counts down on server time,
    /// from commands on the right clock and on the wrong one alike.
    @Test(arguments: [-7_200, 7_200])
    func aKioskThatBootedOnAWrongClockAcceptsAFreshOfferAndCountsDownRight(offset: Int) async throws {
        let kiosk = try await Kiosk()
        defer { kiosk.stop() }
        let wrong = DeviceClock(offset: offset)
        try await kiosk.signIn("alice", "alice@example.com", clock: wrong)
        let booted = ContinuousClock.now
        try await kiosk.startDaemon(clock: DeviceClock(offset: offset, stepsAfter: 5))
        // NTP has stepped the daemon's clock right by now.
        try await Task.sleep(until: booted + .seconds(7))

        let offer = try await kiosk.offer()
        try await kiosk.aliceHas(offer.id)
        let accept = try await kiosk.pg("alice", ["accept", offer.id.rawValue])
        #expect(accept.status == 0, "\(accept.stderr)")
        #expect(accept.stdout.contains("Done."))

        let offers = try #require(try await kiosk.json("alice", ["offers"]) as? [[String: Any]])
        let accepted = try #require(offers.first { $0["id"] as? String == offer.id.rawValue })
        #expect(accepted["state"] as? String == "accepted")
        let session = SessionID(try #require(accepted["sessionId"] as? String))
        for clock in [nil, wrong] {
            let (shown, server) = try await kiosk.countdowns(session, on: "alice", clock: clock)
            #expect(server.state == .inProgress)
            Self.expectAgree(
                shown, server, "pg session on \(clock.map { "a clock \($0.offset) s off" } ?? "the right clock")")
        }
    }

    /// A server step reaches the profile's views through the daemon's live stream (its `time`
    /// event) by the next command, however long the daemon measured the clock before. (Without
    /// a live stream, the next request corrects it: PlusGuidanceClientTests.)
    @Test func aStepOfTheServersClockIsRightByTheNextCommand() async throws {
        let kiosk = try await Kiosk()
        defer { kiosk.stop() }
        try await kiosk.signIn("alice", "alice@example.com")
        try await kiosk.startDaemon()
        for _ in 0..<5 { _ = try await kiosk.offer(confirm: false) }

        try await TestClock.advance(kiosk.server.url, by: 3_600)
        let offer = try await kiosk.offer(confirm: false)
        let session = try #require(offer.sessionID)
        try await kiosk.aliceHas(offer.id)
        let (shown, server) = try await kiosk.countdowns(session, on: "alice")
        #expect(server.state == .inProgress)
        Self.expectAgree(shown, server, "after the server's step")
        let sessions = try await kiosk.pg("alice", ["sessions"])
        #expect(!sessions.stdout.contains("starts in"), "\(sessions.stdout)")
    }

    /// An accept queued offline fails with `offer_expired` once the offer's deadline passes on
    /// the estimated server clock: `pg outbox` and `pg status` say so with no process running
    /// the engine, whatever the device's clock says.
    @Test func anAcceptPastItsDeadlineReadsFailedWithoutAnEngine() async throws {
        let kiosk = try await Kiosk()
        defer { kiosk.stop() }
        try await kiosk.signIn("alice", "alice@example.com")
        let offer = try await kiosk.offer()
        try await kiosk.aliceHas(offer.id)
        // Ten seconds of the answer window left, known to Alice's profile; then offline.
        try await TestClock.advance(kiosk.server.url, by: 3_590)
        #expect(try await kiosk.pg("alice", ["sync"]).status == 0)
        kiosk.server.stop()
        let accept = try await kiosk.pg("alice", ["accept", offer.id.rawValue])
        #expect(accept.status == 0, "\(accept.stderr)")
        let queued = try #require(try await kiosk.json("alice", ["outbox"]) as? [[String: Any]])
        #expect(queued.first?["state"] as? String == "pending")

        try await Task.sleep(for: .seconds(12))
        for clock in [nil, DeviceClock(offset: -7_200), DeviceClock(offset: 7_200)] {
            let entries = try #require(try await kiosk.json("alice", ["outbox"], clock: clock) as? [[String: Any]])
            #expect(entries.count == 1)
            #expect(entries.first?["state"] as? String == "failed", "\(entries)")
            #expect((entries.first?["error"] as? [String: Any])?["code"] as? String == "offer_expired")
            let status = try #require(try await kiosk.json("alice", ["status"], clock: clock) as? [String: Any])
            #expect(status["pendingOutbox"] as? Int == 0, "\(status)")
            #expect(status["failedOutbox"] as? Int == 1, "\(status)")
        }
    }

    /// `pg watch` whose own clock is two hours ahead and then steps back, beside the daemon:
    /// the reminder, the start and overtime come when the server's clock reaches them, not
    /// when the device's does.
    @Test func aWatchOnASteppedClockReportsSessionTimesOnTheServersClock() async throws {
        let kiosk = try await Kiosk()
        defer { kiosk.stop() }
        try await kiosk.signIn("alice", "alice@example.com")
        try await kiosk.startDaemon()
        let startsAt = try await kiosk.serverNow() + 600
        let offer = try await kiosk.offer(confirm: false, startsAt: startsAt)
        try await kiosk.aliceHas(offer.id)

        let watch = try ChildProcess(
            try kiosk.binary("pg"),
            ["--server", kiosk.server.url.absoluteString, "--profile", kiosk.folder + "/alice", "--json", "watch"],
            environment: try DeviceClock(offset: 7_200, stepsAfter: 4).environment, stdout: .pipe)
        defer {
            watch.signal(SIGTERM)
            watch.wait(deadline: .now + .seconds(10))
        }
        let lines = LineCollector(watch.standardOutput)
        @Sendable func sessionChanges() -> [String] {
            lines.lines.compactMap { line in
                guard let event = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    event["event"] as? String == "session"
                else { return nil }
                return event["change"] as? String
            }
        }
        // The watch is up (it prints nothing yet): the device's clock steps back meanwhile.
        try await Task.sleep(for: .seconds(6))
        #expect(sessionChanges().isEmpty, "\(lines.lines)")

        // Four minutes later on the server: the reminder (five minutes before the start).
        try await TestClock.advance(kiosk.server.url, by: 301)
        try await waitUntil(within: .seconds(30)) { sessionChanges() == ["reminder"] }
        try await TestClock.advance(kiosk.server.url, by: 300)
        try await waitUntil(within: .seconds(30)) { sessionChanges() == ["reminder", "started"] }
        try await TestClock.advance(kiosk.server.url, by: 45 * 60)
        try await waitUntil(within: .seconds(30)) { sessionChanges() == ["reminder", "started", "overtime"] }
    }

    /// `pg-syncd` stopped for a minute and a half (SIGSTOP) while the wall clock moves on: the
    /// profile's views stay on the server's time meanwhile and after it wakes, and it delivers.
    @Test func aSuspendedDaemonWakesOnTheServersTime() async throws {
        let kiosk = try await Kiosk()
        defer { kiosk.stop() }
        try await kiosk.signIn("alice", "alice@example.com")
        try await kiosk.startDaemon()
        let offer = try await kiosk.offer(confirm: false)
        try await kiosk.aliceHas(offer.id)
        let session = try #require(offer.sessionID)

        let daemon = try #require(kiosk.daemon)
        daemon.signal(SIGSTOP)
        try await Task.sleep(for: .seconds(90))
        let (during, server) = try await kiosk.countdowns(session, on: "alice")
        Self.expectAgree(during, server, "while the daemon is stopped")
        #expect(server.remainingSeconds < 45 * 60 - 85)

        daemon.signal(SIGCONT)
        let send = try await kiosk.pg("alice", ["send", "therapist@example.com", "after the pause"])
        #expect(send.status == 0, "\(send.stderr)")
        let (after, serverAfter) = try await kiosk.countdowns(session, on: "alice")
        Self.expectAgree(after, serverAfter, "after the daemon woke")
        let texts = try await kiosk.theo.messages(with: "usr_alice").messages.filter { $0.body == "after the pause" }
        #expect(texts.count == 1)
    }
}
