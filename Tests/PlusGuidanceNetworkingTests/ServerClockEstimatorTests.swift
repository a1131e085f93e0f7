import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import Testing

/// The estimator on an injected boot clock (a ``ManualWallClock`` read as elapsed time): the
/// wall clock takes no part, so no step of it can reach these numbers.
@Suite struct ServerClockEstimatorTests {
    let boot = ManualWallClock(Date(timeIntervalSinceReferenceDate: 1_000))
    /// The server's clock: 1,800,000,000 s after 1970 when `boot` reads 1,000.
    let serverAtStart = Date(timeIntervalSince1970: 1_800_000_000)

    func serverNow(after elapsed: TimeInterval) -> Date { serverAtStart + elapsed }

    /// Records an answer of `roundTrip` seconds, whose stamp the server took in the middle of it.
    func answer(
        _ estimator: inout ServerClockEstimator, serverSkew: TimeInterval = 0, roundTrip: TimeInterval = 0.02,
        resolution: TimeInterval = 0.001
    ) {
        let sent = boot.elapsed()
        boot.advance(by: roundTrip)
        let stampedAt = serverNow(after: sent - 1_000 + roundTrip / 2) + serverSkew
        let stamp = Date(
            timeIntervalSinceReferenceDate: (stampedAt.timeIntervalSinceReferenceDate / resolution).rounded(.down)
                * resolution)
        estimator.record(serverDate: stamp, sentAt: sent, receivedAt: boot.elapsed(), resolution: resolution)
    }

    func error(of estimator: ServerClockEstimator, serverSkew: TimeInterval = 0) throws -> TimeInterval {
        let estimated = try #require(estimator.estimate?.serverNow(on: boot))
        return estimated.timeIntervalSince(serverNow(after: boot.elapsed() - 1_000) + serverSkew)
    }

    @Test func noSamplesMeansNoEstimate() {
        #expect(ServerClockEstimator(bootID: boot.bootID).estimate == nil)
    }

    @Test(arguments: [0.001, 1.0])
    func theServersTimeIsRecoveredWithinHalfTheStampsResolution(resolution: TimeInterval) throws {
        var estimator = ServerClockEstimator(bootID: boot.bootID)
        for _ in 0..<5 {
            answer(&estimator, resolution: resolution)
            boot.advance(by: 7.3)
        }
        #expect(abs(try error(of: estimator)) <= resolution / 2 + 0.011)
    }

    @Test func anEstimateHoldsOnlyInTheBootItWasMeasuredIn() throws {
        var estimator = ServerClockEstimator(bootID: boot.bootID)
        answer(&estimator)
        let estimate = try #require(estimator.estimate)
        #expect(estimate.serverNow(on: boot) != nil)
        #expect(estimate.serverNow(on: ManualWallClock(boot.now())) == nil)
    }

    @Test func oneSlowAnswerDoesNotMoveTheMedian() throws {
        var estimator = ServerClockEstimator(capacity: 5, bootID: boot.bootID)
        for _ in 0..<4 { answer(&estimator) }
        // Ten seconds there and back: its stamp may be five seconds off, and its uncertainty says so.
        answer(&estimator, roundTrip: 10)
        #expect(estimator.sampleCount == 5)
        #expect(abs(try error(of: estimator)) < 0.02)
    }

    @Test func aMillisecondStampFarOutsideTheEstimateIsAStepOfTheServersClock() throws {
        var estimator = ServerClockEstimator(capacity: 9, bootID: boot.bootID)
        for _ in 0..<9 { answer(&estimator) }
        // The server's clock moves an hour forward: the next answer alone corrects the estimate.
        answer(&estimator, serverSkew: 3_600)
        #expect(estimator.sampleCount == 1)
        #expect(abs(try error(of: estimator, serverSkew: 3_600)) < 0.02)
    }

    @Test func aCoarseStampFarOutsideTheEstimateIsBelievedOnceConfirmed() throws {
        var estimator = ServerClockEstimator(capacity: 9, bootID: boot.bootID)
        for _ in 0..<9 { answer(&estimator, resolution: 1) }
        // A `Date` an hour off may be a stale answer (a proxy replaying a stored one): not yet.
        answer(&estimator, serverSkew: 3_600, resolution: 1)
        #expect(abs(try error(of: estimator)) <= 0.52)
        // A second answer says the same: the server's clock stepped.
        answer(&estimator, serverSkew: 3_600, resolution: 1)
        #expect(abs(try error(of: estimator, serverSkew: 3_600)) <= 0.52)
        #expect(estimator.sampleCount == 2)
    }

    @Test func aLoneStaleDateIsForgotten() throws {
        var estimator = ServerClockEstimator(capacity: 9, bootID: boot.bootID)
        for _ in 0..<3 { answer(&estimator, resolution: 1) }
        answer(&estimator, serverSkew: -86_400, resolution: 1)
        answer(&estimator, resolution: 1)
        // Another stale one later does not pair with the first.
        answer(&estimator, serverSkew: 3_600, resolution: 1)
        #expect(abs(try error(of: estimator)) <= 0.52)
        #expect(estimator.sampleCount == 4)
    }

    @Test func onlyTheMostRecentSamplesCount() throws {
        var estimator = ServerClockEstimator(capacity: 3, bootID: boot.bootID)
        for _ in 0..<10 { answer(&estimator) }
        #expect(estimator.sampleCount == 3)
        #expect(estimator.estimate?.sampledAt == boot.elapsed())
    }

    @Test func aNegativeRoundTripIsIgnored() {
        var estimator = ServerClockEstimator(bootID: boot.bootID)
        estimator.record(serverDate: serverAtStart, sentAt: 10, receivedAt: 9)
        #expect(estimator.sampleCount == 0)
    }

    @Test func theServerTellingItsTimeStartsTheEstimateOver() throws {
        var estimator = ServerClockEstimator(capacity: 5, bootID: boot.bootID)
        for _ in 0..<5 { answer(&estimator, resolution: 1) }
        estimator.restart(serverDate: serverNow(after: boot.elapsed() - 1_000) + 600, receivedAt: boot.elapsed())
        #expect(estimator.sampleCount == 1)
        #expect(abs(try error(of: estimator, serverSkew: 600)) < 0.001)
    }

    @Test func theFresherOfTwoEstimatesOfThisBootIsUsed() {
        let older = ServerTimeEstimate(bootID: boot.bootID, offset: 5, sampledAt: 10)
        let newer = ServerTimeEstimate(bootID: boot.bootID, offset: 3_605, sampledAt: 20)
        let otherBoot = ServerTimeEstimate(bootID: "another", offset: 9, sampledAt: 99)
        #expect(ServerTimeEstimate.freshest(older, newer, on: boot) == newer)
        #expect(ServerTimeEstimate.freshest(newer, older, on: boot) == newer)
        #expect(ServerTimeEstimate.freshest(otherBoot, older, on: boot) == older)
        #expect(ServerTimeEstimate.freshest(otherBoot, nil, on: boot) == nil)
    }
}

@Suite struct SystemElapsedClockTests {
    @Test func theBootClockIsTheKernelsAndNamesThisBoot() throws {
        let clock = SystemElapsedClock()
        let boot = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
        #expect(clock.bootID == boot.trimmingCharacters(in: .whitespacesAndNewlines))
        let uptime = try String(contentsOfFile: "/proc/uptime", encoding: .utf8).split(separator: " ")[0]
        let first = clock.elapsed()
        #expect(abs(first - (Double(uptime) ?? 0)) < 2)
        #expect(clock.elapsed() >= first)
    }
}
