import Foundation

/// Slows down password guessing: failed sign-ins are counted per account and per client
/// address over a sliding window, and past either limit sign-ins are refused with 429 and
/// `Retry-After` before any password is hashed (so a flood costs the server little).
///
/// Per-account counting stops guessing one account from many addresses; per-address counting
/// stops one address guessing many accounts. A successful sign-in clears its account's count.
actor LoginThrottle {
    struct Policy: Sendable {
        /// Failures of one account within ``window`` before it is throttled.
        var perAccount = 10
        /// Failures from one address within ``window`` before it is throttled.
        var perAddress = 50
        var window: Duration = .seconds(300)
        /// Keys remembered at most (the oldest are forgotten first): memory stays bounded
        /// whatever a flood of e-mails or addresses does.
        var maximumKeys = 100_000
    }

    private let policy: Policy
    private var failures: [String: [ContinuousClock.Instant]] = [:]

    init(policy: Policy = Policy()) { self.policy = policy }

    /// Seconds to wait before `account` may try again from `address`, or `nil` when it may now.
    func retryAfter(account: String, address: String?) -> Int? {
        let now = ContinuousClock.now
        var waits: [Duration] = []
        for (key, limit) in keys(account, address) {
            let recent = prune(key, now: now)
            if recent.count >= limit, let oldest = recent.first { waits.append(oldest + policy.window - now) }
        }
        guard let wait = waits.max() else { return nil }
        return max(1, Int(wait.components.seconds) + 1)
    }

    func failed(account: String, address: String?) {
        let now = ContinuousClock.now
        if failures.count >= policy.maximumKeys { forgetOldest() }
        for (key, _) in keys(account, address) { failures[key, default: []].append(now) }
    }

    func succeeded(account: String) { failures["account:" + account.lowercased()] = nil }

    private func keys(_ account: String, _ address: String?) -> [(String, Int)] {
        var keys = [("account:" + account.lowercased(), policy.perAccount)]
        if let address { keys.append(("address:" + address, policy.perAddress)) }
        return keys
    }

    private func prune(_ key: String, now: ContinuousClock.Instant) -> [ContinuousClock.Instant] {
        guard var times = failures[key] else { return [] }
        times.removeAll { $0 + policy.window <= now }
        failures[key] = times.isEmpty ? nil : times
        return times
    }

    private func forgetOldest() {
        let now = ContinuousClock.now
        for key in Array(failures.keys) { _ = prune(key, now: now) }
        while failures.count >= policy.maximumKeys,
            let oldest = failures.min(by: { ($0.value.last ?? now) < ($1.value.last ?? now) })?.key
        {
            failures[oldest] = nil
        }
    }
}
