import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import Synchronization

/// How a reference server runs. The defaults are the production-like ones `pg-server` uses.
public struct ServerConfiguration: Sendable {
    /// Address to bind; loopback by default.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free one (see ``PlusGuidanceReferenceServer/run(onListening:)``).
    public var port: Int = 8080
    /// The SQLite database; created when missing, kept across restarts.
    public var databasePath: String
    /// Enables `POST /v1/test/clock/advance` and drives every rule from a test clock that runs
    /// with real time from ``testClockStart`` plus what was advanced. Never enable in production.
    public var testClock: Bool = false
    /// R2: how long after an authenticated request a person still counts as online.
    public var presenceWindow: TimeInterval = PresencePolicy.defaultWindow
    /// Seconds between heartbeat comments on the event stream.
    public var heartbeatInterval: TimeInterval = 15
    /// Lifetime of an access token; short, so a stolen one is of little use.
    public var accessTokenLifetime: TimeInterval = 15 * 60
    /// Lifetime of a refresh token.
    public var refreshTokenLifetime: TimeInterval = 30 * 24 * 3_600
    /// How long changes stay in the feed; a cursor older than that gets `cursor_too_old`.
    public var feedRetention: TimeInterval = 30 * 24 * 3_600
    /// How long an `Idempotency-Key` and its stored answer are kept (at least 24 h, R8).
    public var idempotencyRetention: TimeInterval = 48 * 3_600
    /// The largest request body accepted; larger ones get 413.
    public var maximumBodyBytes: Int = 64 * 1_024
    /// The largest `POST /v1/batch` body: up to 100 actions of a full-size message each.
    public var maximumBatchBodyBytes: Int = 4 * 1_024 * 1_024
    /// Password hashing cost; ``PasswordHasher/Cost/standard`` outside tests.
    public var passwordCost: PasswordHasher.Cost = .standard
    /// Accounts to create on start, when missing.
    public var seed: Seed?
    /// The start time of the test clock.
    public var testClockStart: Date = Date(timeIntervalSince1970: 1_800_000_000)
    /// Whether the test clock runs with real time between advances (as `pg-server --test-clock`
    /// does); `false` holds it still, for in-process rule tests that check exact seconds.
    public var testClockRuns: Bool = true
    /// How long a graceful shutdown may wait for in-flight requests before they are cancelled
    /// (`pg-server` also exits regardless 10 s after SIGTERM, whatever clients do).
    public var shutdownGrace: Duration = .seconds(5)
    /// Seconds a connection may go without a complete request before it is closed (headers that
    /// never end, an idle keep-alive). An event stream in progress is not idle. 75 s, as nginx's
    /// `keepalive_timeout`: longer than clients keep an idle connection in their pools
    /// (async-http-client 60 s), so a client does not reuse one the server is closing.
    public var idleTimeout: TimeInterval = 75

    /// Built-in data sets.
    public enum Seed: String, Sendable, CaseIterable {
        /// therapist@example.com with clients alice and bob; other@example.com with client carol.
        case demo
        /// The demo, and 30 more clients of therapist@example.com: client01@example.com …
        /// client30@example.com ("Client 01" …), passwords client01-pass …: a practice's size,
        /// for soak runs of the desktop client.
        case practice
    }

    public init(databasePath: String) { self.databasePath = databasePath }
}

/// The server's clock: the system clock, or the test clock in `--test-clock` mode. Times are
/// truncated to whole milliseconds, the precision of the wire format, so what is stored is
/// exactly what clients see.
struct ServerClock: Sendable {
    let base: any WallClock
    let manual: RunningTestClock?

    init(testClockStart: Date?, runs: Bool = true) {
        if let testClockStart {
            let manual = RunningTestClock(start: testClockStart, runs: runs)
            self.base = manual
            self.manual = manual
        } else {
            self.base = SystemWallClock()
            self.manual = nil
        }
    }

    func now() -> Date {
        let milliseconds = (base.now().timeIntervalSince1970 * 1_000).rounded(.down)
        return Date(timeIntervalSince1970: milliseconds / 1_000)
    }
}

/// The `--test-clock` clock: starts at a fixed time, runs with real (monotonic) time, and jumps
/// forward by what `POST /v1/test/clock/advance` adds. Presence, expiry, countdowns and the
/// `Server-Time` header all read it, so they never disagree.
final class RunningTestClock: WallClock, Sendable {
    private let start: Date
    private let runs: Bool
    private let started = ContinuousClock.now
    private let advanced = Mutex<TimeInterval>(0)

    init(start: Date, runs: Bool = true) {
        self.start = start
        self.runs = runs
    }

    func now() -> Date {
        let elapsed = runs ? ContinuousClock.now - started : .zero
        return start + elapsed.timeInterval + advanced.withLock { $0 }
    }

    /// Moves the clock forward by `seconds` (negative values are ignored).
    func advance(by seconds: TimeInterval) {
        guard seconds > 0 else { return }
        advanced.withLock { $0 += seconds }
    }
}
