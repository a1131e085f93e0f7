import Foundation

/// Retries above ``CurlHTTPClient``: only requests that are safe to repeat (an idempotent method
/// or an `Idempotency-Key`, which stays the same on every attempt), only after transient
/// failures (connection failures, timeouts, 408, 429, 502, 503, 504), with exponential backoff
/// and full jitter (a random delay between zero and the backoff, as AWS's architecture blog
/// recommends), honouring `Retry-After`, within a budget of attempts and of total delay.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maximumAttempts: Int = 4
    public var initialBackoff: Duration = .milliseconds(200)
    public var maximumBackoff: Duration = .seconds(10)
    /// The most time spent waiting between attempts of one request.
    public var delayBudget: Duration = .seconds(30)
    /// How waiting is done; tests replace it to observe delays without waiting.
    public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    /// A random number in 0..<1, for the jitter; tests make it deterministic.
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    public init() {}

    /// No retries at all.
    public static var none: RetryPolicy {
        var policy = RetryPolicy()
        policy.maximumAttempts = 1
        return policy
    }

    /// Runs `attempt` until it succeeds, fails for good, or the budget is spent.
    ///
    /// `attempt` returns a response or throws; a response with a retryable status counts as a
    /// transient failure (the last one is returned, not thrown, when the budget runs out).
    ///
    /// With a `deadline`, no attempt runs past it (each gets at most the time left as its
    /// total timeout), no wait between attempts ends after it, and an attempt that would start
    /// after it fails with `timeout`.
    public func run(
        _ request: HTTPRequest, deadline: ContinuousClock.Instant? = nil,
        _ attempt: @Sendable (HTTPRequest) async throws -> HTTPResponse
    )
        async throws -> HTTPResponse
    {
        var waited = Duration.zero
        var attemptNumber = 1
        while true {
            let delay: Duration
            var bounded = request
            if let deadline {
                let left = deadline - ContinuousClock.now
                guard left > .milliseconds(1) else {
                    throw HTTPClientError.timeout.with(host: request.url.host, reason: "the request's deadline passed")
                }
                // The request's own limit stands when it is shorter; `.zero` (none) does not.
                bounded.totalTimeout = min(request.totalTimeout.flatMap { $0 == .zero ? nil : $0 } ?? left, left)
            }
            do {
                let response = try await attempt(bounded)
                guard request.isRetrySafe, Self.retryableStatuses.contains(response.status),
                    attemptNumber < maximumAttempts
                else { return response }
                delay = retryAfter(response) ?? backoff(attemptNumber)
                if waited + delay > delayBudget || !fits(delay, before: deadline) { return response }
            } catch let error as HTTPClientError where error.isTransient && request.isRetrySafe {
                guard attemptNumber < maximumAttempts else { throw error }
                delay = backoff(attemptNumber)
                if waited + delay > delayBudget || !fits(delay, before: deadline) { throw error }
            }
            try Task.checkCancellation()
            try await sleep(delay)
            waited += delay
            attemptNumber += 1
        }
    }

    static let retryableStatuses: Set<Int> = [408, 429, 502, 503, 504]

    /// Whether a wait of `delay` leaves time for another attempt before `deadline`.
    private func fits(_ delay: Duration, before deadline: ContinuousClock.Instant?) -> Bool {
        guard let deadline else { return true }
        return ContinuousClock.now + delay + .milliseconds(50) < deadline
    }

    /// The delay before the attempt after attempt number `attempt` (1-based), with full jitter:
    /// uniform in [0, min(maximumBackoff, initialBackoff × 2^(attempt-1))]. Also what the sync
    /// engine waits before retrying an outbox entry.
    public func backoff(_ attempt: Int) -> Duration {
        let exponent = min(attempt - 1, 30)
        let ceiling = min(maximumBackoff, initialBackoff * (1 << exponent))
        return ceiling * random()
    }

    /// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3), capped at the maximum backoff.
    func retryAfter(_ response: HTTPResponse, now: Date = Date()) -> Duration? {
        guard let value = response.header("Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Int(value), seconds >= 0 { return min(.seconds(seconds), maximumBackoff) }
        if let date = HTTPDate.parse(value) {
            return min(.milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1_000)), maximumBackoff)
        }
        return nil
    }
}
