import Foundation
import PlusGuidanceDomain
import PlusGuidanceNetworking
import Testing

@Suite struct ServerClockEstimatorTests {
    let local = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func noSamplesMeansNoEstimate() {
        #expect(ServerClockEstimator().offset == nil)
    }

    @Test(arguments: [-7_200.0, -30.0, 0.0, 3 * 3_600.0])
    func aSkewOfHoursIsRecoveredWithinASecond(skew: TimeInterval) throws {
        var estimator = ServerClockEstimator()
        for i in 0..<5 {
            let sent = local + Double(i) * 10
            let received = sent + 0.2
            // The server stamps whole seconds of its own clock at the midpoint of the request.
            let serverDate = Date(timeIntervalSince1970: (sent + 0.1 + skew).timeIntervalSince1970.rounded(.down))
            estimator.record(serverDate: serverDate, sentAt: sent, receivedAt: received)
        }
        let offset = try #require(estimator.offset)
        #expect(abs(offset - skew) <= 0.5)
        let serverNow = OffsetWallClock(base: ManualWallClock(local), offset: offset)
        #expect(abs(serverNow.now().timeIntervalSince(local + skew)) <= 0.5)
    }

    @Test func oneOddAnswerDoesNotMoveTheMedian() throws {
        var estimator = ServerClockEstimator(capacity: 5)
        for i in 0..<4 {
            estimator.record(
                serverDate: local + 100 + Double(i), sentAt: local + Double(i), receivedAt: local + Double(i))
        }
        estimator.record(serverDate: local + 9_999, sentAt: local + 5, receivedAt: local + 5)
        #expect(try #require(estimator.offset) == 100.5)
    }

    @Test func onlyTheMostRecentSamplesCount() throws {
        var estimator = ServerClockEstimator(capacity: 3)
        for i in 0..<3 { estimator.record(serverDate: local + 10, sentAt: local, receivedAt: local + Double(i) * 0) }
        for _ in 0..<3 { estimator.record(serverDate: local + 60, sentAt: local, receivedAt: local) }
        #expect(estimator.sampleCount == 3)
        #expect(try #require(estimator.offset) == 60.5)
    }

    @Test func aNegativeRoundTripIsIgnored() {
        var estimator = ServerClockEstimator()
        estimator.record(serverDate: local, sentAt: local + 1, receivedAt: local)
        #expect(estimator.sampleCount == 0)
    }
}

@Suite struct ServerClockRestartTests {
    let local = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func theServerTellingItsTimeStartsTheEstimateOver() throws {
        var estimator = ServerClockEstimator(capacity: 5)
        for i in 0..<5 {
            estimator.record(serverDate: local + 100, sentAt: local + Double(i), receivedAt: local + Double(i))
        }
        // A clock stepped by ten minutes would take three more samples to move the median.
        estimator.restart(serverDate: local + 700, receivedAt: local + 10)
        #expect(estimator.sampleCount == 1)
        #expect(abs(try #require(estimator.offset) - 690) < 0.001)
    }
}
