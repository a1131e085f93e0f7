import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import Testing

@Suite struct LiveConnectionMachineTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func machine(cursor: FeedCursor? = nil) -> LiveConnectionMachine {
        var machine = LiveConnectionMachine(cursor: cursor)
        machine.random = { 0.5 }
        return machine
    }

    @Test func startingConnectsAfterTheSavedCursorAndCatchesUpOnceOpen() {
        var live = machine(cursor: FeedCursor("c7"))
        #expect(live.start(at: t0) == [.connect(after: FeedCursor("c7")), .wake(at: t0 + 45)])
        #expect(live.start(at: t0).isEmpty)
        #expect(live.connected(at: t0) == [.catchUp, .wake(at: t0 + 45)])
        #expect(live.state == .open(lastSign: t0))
    }

    @Test func eventsMoveTheCursorAndHeartbeatsKeepTheStreamAlive() {
        var live = machine()
        _ = live.start(at: t0)
        _ = live.connected(at: t0)
        _ = live.received(cursor: FeedCursor("c1"), at: t0 + 10)
        _ = live.received(cursor: nil, at: t0 + 40)
        #expect(live.cursor == FeedCursor("c1"))
        #expect(live.tick(at: t0 + 80) == [.wake(at: t0 + 85)])
        #expect(live.state == .open(lastSign: t0 + 40))
    }

    @Test func aSilentStreamIsDeadAfterTheHeartbeatTimeoutAndResumesAfterItsLastCursor() {
        var live = machine()
        _ = live.start(at: t0)
        _ = live.connected(at: t0)
        _ = live.received(cursor: FeedCursor("c3"), at: t0 + 1)
        // 45 s without a sign of life: disconnect and retry within the first backoff (0.5 × 1 s).
        #expect(live.tick(at: t0 + 46) == [.disconnect, .wake(at: t0 + 46.5)])
        #expect(live.tick(at: t0 + 46.2) == [.wake(at: t0 + 46.5)])
        #expect(live.tick(at: t0 + 46.5) == [.connect(after: FeedCursor("c3")), .wake(at: t0 + 91.5)])
        #expect(live.connected(at: t0 + 47) == [.catchUp, .wake(at: t0 + 92)])
    }

    @Test func aConnectionThatNeverAnswersFailsAfterTheHeartbeatTimeout() {
        var live = machine()
        _ = live.start(at: t0)
        #expect(live.tick(at: t0 + 30) == [.wake(at: t0 + 45)])
        #expect(live.tick(at: t0 + 45) == [.disconnect, .wake(at: t0 + 46)])
        #expect(live.state == .waiting(attempt: 2, until: t0 + 46))
        #expect(live.tick(at: t0 + 46) == [.connect(after: nil), .wake(at: t0 + 91)])
        #expect(live.state == .connecting(attempt: 2, since: t0 + 46))
    }

    /// Each attempt hangs until the heartbeat timeout: the outage is long, so the ceiling is the
    /// exponential one.
    @Test func failedAttemptsBackOffExponentiallyUpToTheCap() {
        var live = machine()
        _ = live.start(at: t0)
        var delays: [TimeInterval] = []
        var now = t0
        for _ in 0..<9 {
            let actions = live.failed(at: now)
            guard case .wake(let until)? = actions.last else {
                Issue.record("no wake in \(actions)")
                return
            }
            delays.append(until.timeIntervalSince(now))
            #expect(live.tick(at: until).first == .connect(after: nil))
            now = until + 45
        }
        // 0.5 × min(60, 2^(n-1)) for attempts 2…10; the first failure, at once, waits within
        // initialBackoff (the stream has been down for no time yet).
        #expect(delays == [0.5, 2, 4, 8, 16, 30, 30, 30, 30])
    }

    /// Attempts refused at once (a server restarting): even at the top of the jitter, no wait is
    /// longer than the stream has been down, so the client is back within about the outage's
    /// length after the server is, however quickly its early attempts came.
    @Test func aBackoffNeverWaitsLongerThanTheOutageHasLasted() {
        var live = machine()
        live.random = { 1 }
        _ = live.start(at: t0)
        _ = live.connected(at: t0)
        var delays: [TimeInterval] = []
        var now = t0 + 100
        for _ in 0..<9 {
            guard case .wake(let until)? = live.failed(at: now).last else {
                Issue.record("no wake")
                return
            }
            #expect(live.downSince == t0 + 100)
            delays.append(until.timeIntervalSince(now))
            now = until
            _ = live.tick(at: now)
        }
        #expect(delays == [1, 1, 2, 4, 8, 16, 32, 60, 60])
        _ = live.connected(at: now)
        #expect(live.downSince == nil)
    }

    @Test func aStreamThatOpensResetsTheBackoff() {
        var live = machine()
        _ = live.start(at: t0)
        _ = live.failed(at: t0)
        _ = live.tick(at: t0 + 100)
        _ = live.failed(at: t0 + 100)
        _ = live.tick(at: t0 + 200)
        _ = live.connected(at: t0 + 200)
        #expect(live.failed(at: t0 + 300) == [.disconnect, .wake(at: t0 + 300.5)])
    }

    @Test func aServerThatAnsweredSomethingElseEndsTheBackoffAtOnce() {
        var live = machine(cursor: FeedCursor("c4"))
        _ = live.start(at: t0)
        _ = live.failed(at: t0)
        _ = live.tick(at: t0 + 10)
        _ = live.failed(at: t0 + 10)
        #expect(live.state == .waiting(attempt: 3, until: t0 + 12))
        // The outbox sender was answered at t0 + 11: reconnect now, not at t0 + 12.
        #expect(live.serverReachable(at: t0 + 11) == [.connect(after: FeedCursor("c4")), .wake(at: t0 + 56)])
        #expect(live.state == .connecting(attempt: 3, since: t0 + 11))
        // Connecting or open, the news changes nothing.
        #expect(live.serverReachable(at: t0 + 11.5).isEmpty)
        _ = live.connected(at: t0 + 12)
        #expect(live.serverReachable(at: t0 + 13).isEmpty)
        #expect(live.state == .open(lastSign: t0 + 12))
    }

    @Test func stoppingDisconnectsAndIgnoresLateNews() {
        var live = machine()
        _ = live.start(at: t0)
        _ = live.connected(at: t0)
        #expect(live.stop() == [.disconnect])
        #expect(live.received(cursor: FeedCursor("c9"), at: t0 + 1).isEmpty)
        #expect(live.failed(at: t0 + 2).isEmpty)
        #expect(live.tick(at: t0 + 999).isEmpty)
        #expect(live.cursor == nil)
        #expect(live.stop().isEmpty)
    }

    @Test func aFailedCatchUpIsTriedAgainWithBackoffWhileTheStreamStaysOpen() {
        var live = machine()
        _ = live.start(at: t0)
        #expect(live.connected(at: t0) == [.catchUp, .wake(at: t0 + 45)])
        #expect(live.catchUpFailed(at: t0 + 1) == [.wake(at: t0 + 1.5)])
        #expect(live.tick(at: t0 + 1.2) == [.wake(at: t0 + 1.5)])
        #expect(live.tick(at: t0 + 1.5) == [.catchUp, .wake(at: t0 + 45)])
        // Running: no second catch-up however late it is.
        #expect(live.tick(at: t0 + 20) == [.wake(at: t0 + 45)])
        #expect(live.catchUpFailed(at: t0 + 21) == [.wake(at: t0 + 22)])
        _ = live.received(cursor: nil, at: t0 + 21.5)
        #expect(live.tick(at: t0 + 22) == [.catchUp, .wake(at: t0 + 66.5)])
        live.caughtUp()
        #expect(live.catchUpRetry == nil)
        #expect(live.tick(at: t0 + 30) == [.wake(at: t0 + 66.5)])
    }

    @Test func aLostStreamDropsItsCatchUpRetry() {
        var live = machine()
        _ = live.start(at: t0)
        _ = live.connected(at: t0)
        _ = live.catchUpFailed(at: t0 + 1)
        #expect(live.catchUpRetry?.failures == 1 && live.catchUpRetry?.due == t0 + 1.5)
        #expect(live.failed(at: t0 + 1.2) == [.disconnect, .wake(at: t0 + 1.7)])
        #expect(live.catchUpRetry == nil)
        #expect(live.catchUpFailed(at: t0 + 1.3).isEmpty)
        // The next stream catches up as any opening does.
        _ = live.tick(at: t0 + 1.7)
        #expect(live.connected(at: t0 + 2) == [.catchUp, .wake(at: t0 + 47)])
    }
}
