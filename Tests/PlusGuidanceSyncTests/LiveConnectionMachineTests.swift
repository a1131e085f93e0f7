import Foundation
import PlusGuidanceDomain
import PlusGuidanceSync
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
            now = until
            #expect(live.tick(at: now).first == .connect(after: nil))
        }
        // 0.5 × min(60, 2^(n-1)) for attempts 2…10.
        #expect(delays == [1, 2, 4, 8, 16, 30, 30, 30, 30])
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
        _ = live.tick(at: t0 + 1)
        _ = live.failed(at: t0 + 1)
        #expect(live.state == .waiting(attempt: 3, until: t0 + 3))
        // The outbox sender was answered at t0 + 2: reconnect now, not at t0 + 3.
        #expect(live.serverReachable(at: t0 + 2) == [.connect(after: FeedCursor("c4")), .wake(at: t0 + 47)])
        #expect(live.state == .connecting(attempt: 3, since: t0 + 2))
        // Connecting or open, the news changes nothing.
        #expect(live.serverReachable(at: t0 + 2.5).isEmpty)
        _ = live.connected(at: t0 + 3)
        #expect(live.serverReachable(at: t0 + 4).isEmpty)
        #expect(live.state == .open(lastSign: t0 + 3))
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
}
