// Fleet (issue "Hardening"): many live connections on one `pg-server`, the server restarted, and
// every client back and caught up with nothing missed. Run with
//
//     swift run -c release fleet-benchmark [connections=1000] [restarts=2] [messages=10] [down-seconds=3]
//
// Each connection is the SDK's own `LiveSession` (the reconnect machine with its jittered
// backoff, resume after `Last-Event-ID`, catch-up from the feed), half of them the therapist's
// account and half Alice's, over 10 libcurl clients in this process. Per phase it prints:
// the time until every connection is open, messages sent while connected and while the fleet
// reconnects, each connection's reconnect time after the server is back (a histogram), the
// connection attempts per 100 ms (peak against mean: no thundering herd), the server's stop time,
// and the server's and this process's memory and descriptors. Exits 1 when a connection missed a
// message or a phase did not finish within its bound; nothing else is asserted.
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting

#if canImport(Glibc)
    import Glibc
#endif

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

struct Failure: Error, CustomStringConvertible { var description: String }

/// Resident memory (MiB), open descriptors and threads of a process.
func footprint(_ pid: Int32) -> String {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Int {
        status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            .flatMap { Int($0.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") } ?? 0
    }
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    return String(format: "RSS %.1f MiB, %ld fds, %ld threads", Double(field("VmRSS")) / 1024, fds, field("Threads"))
}

/// What one connection saw: the messages (by event or by catch-up), its feed cursor, and the
/// times of its connection attempts and of each stream that opened.
actor Follower {
    let api: PlusGuidanceAPI
    private(set) var seen: Set<MessageID> = []
    /// The feed cursor of the catch-ups. Events do not move it, as in the SDK (they merge into
    /// the cache; only a pull moves its cursor): an event can be handled before the catch-up of
    /// its stream starts, and the catch-up must still read what came before the stream.
    private var cursor: FeedCursor?
    private(set) var attempts: [Double] = []
    /// When each catch-up started: a stream opening, or a failed catch-up's retry on it.
    private(set) var opened: [Double] = []
    private(set) var lost: [Double] = []
    private(set) var catchUpFailures = 0

    init(api: PlusGuidanceAPI) { self.api = api }

    func connecting() { attempts.append(monotonicSeconds()) }

    func disconnected() { lost.append(monotonicSeconds()) }

    /// Pages through the feed after the last cursor seen; `false` when a request failed (the
    /// session tries again while the stream stays open).
    func catchUp() async -> Bool {
        opened.append(monotonicSeconds())
        do {
            while true {
                let page = try await api.changes(after: cursor)
                take(page.changes)
                cursor = page.cursor
                if !page.hasMore { return true }
            }
        } catch {
            catchUpFailures += 1
            return false
        }
    }

    func event(_ event: LiveEvent) {
        if case .change(let change, _) = event { take([change]) }
    }

    private func take(_ changes: [Change]) {
        for case .message(let message) in changes { seen.insert(message.id) }
    }
}

actor TokenBox {
    private var tokens: APITokens?
    func set(_ new: APITokens?) { tokens = new }
    func value() throws -> APITokens {
        guard let tokens else { throw Failure(description: "no tokens after sign-in") }
        return tokens
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

func histogram(_ values: [Double], bucket: Double) -> String {
    guard let top = values.max() else { return "(none)" }
    var counts = [Int](repeating: 0, count: Int(top / bucket) + 1)
    for value in values { counts[Int(value / bucket)] += 1 }
    return counts.enumerated().filter { $0.element > 0 }
        .map {
            String(format: "%.0f-%.0f s: %ld", Double($0.offset) * bucket, Double($0.offset + 1) * bucket, $0.element)
        }
        .joined(separator: ", ")
}

extension Array where Element: Sendable {
    func asyncSum(_ value: (Element) async -> Int) async -> Int {
        var sum = 0
        for element in self { sum += await value(element) }
        return sum
    }

    func asyncCount(_ predicate: (Element) async -> Bool) async -> Int {
        var count = 0
        for element in self where await predicate(element) { count += 1 }
        return count
    }
}

/// The whole run; exits 1 on a failure.
func runFleet() async throws {
    let arguments = CommandLine.arguments.dropFirst().map { Int($0) }
    func argument(_ index: Int, _ fallback: Int) -> Int {
        index < arguments.count ? arguments[index] ?? fallback : fallback
    }
    let connections = argument(0, 1000)
    let restarts = argument(1, 2)
    let messagesPerPhase = argument(2, 10)
    let downSeconds = argument(3, 3)
    let httpClients = 10
    let phaseBound = 120.0

    let folder = FileManager.default.temporaryDirectory.path + "/pg-fleet-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let serverArguments = ["--seed", "demo", "--access-token-lifetime", "86400", "--log-level", "error"]
    var server = try await ReferenceServerProcess.launch(
        databasePath: folder + "/server.sqlite", arguments: serverArguments)
    let port = server.url.port!
    say(
        "fleet: \(connections) connections on \(server.url), \(restarts) restarts, \(messagesPerPhase) messages a phase"
    )

    var configuration = HTTPClientConfiguration()
    configuration.maximumConnectionsPerHost = connections / httpClients + 8
    let clients = (0..<httpClients).map { _ in CurlHTTPClient(configuration: configuration) }
    func signIn(_ email: String, _ password: String) async throws -> APITokens {
        let tokens = TokenBox()
        let api = PlusGuidanceAPI(baseURL: server.url, http: clients[0], onTokensChanged: { await tokens.set($0) })
        _ = try await api.login(email: email, password: password)
        return try await tokens.value()
    }
    let therapist = try await signIn("therapist@example.com", "therapist-pass")
    let alice = try await signIn("alice@example.com", "alice-pass")
    let sender = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient(), tokens: alice)

    let followers = (0..<connections).map { index in
        Follower(
            api: PlusGuidanceAPI(
                baseURL: server.url, http: clients[index % httpClients], tokens: index % 2 == 0 ? therapist : alice))
    }
    let sessions = followers.map { follower in
        Task {
            await LiveSession(
                transport: follower.api, clock: SystemWallClock(), heartbeatTimeout: 45, cursor: nil,
                hooks: LiveSession.Hooks(
                    connecting: { await follower.connecting() }, disconnected: { await follower.disconnected() },
                    catchUp: { await follower.catchUp() },
                    event: { await follower.event($0) })
            ).run()
        }
    }

    var sent: [MessageID] = []
    func send(_ count: Int, _ label: String) async throws {
        let pair = CareRelation(therapistID: "usr_therapist", clientID: "usr_alice")
        for n in 0..<count {
            let message = try Message.text(
                id: MessageID(sender: "usr_alice", nonce: UUID().uuidString.replacingOccurrences(of: "-", with: "")),
                from: "usr_alice", to: "usr_therapist", within: pair, body: "fleet \(label) \(n)", at: Date())
            sent.append(try await sender.send(message, idempotencyKey: IdempotencyKey(message.id.rawValue)).id)
        }
    }

    /// Waits until every follower has a stream opened after `openedAfter` and has seen every
    /// message sent; returns the seconds from `since`.
    func waitForFleet(openedAfter: Double, since: Double) async throws -> Double {
        let expected = Set(sent)
        while true {
            var ready = 0
            for follower in followers where await (follower.opened.last ?? 0) >= openedAfter {
                if await expected.isSubset(of: follower.seen) { ready += 1 }
            }
            if ready == connections { return monotonicSeconds() - since }
            if monotonicSeconds() - since > phaseBound {
                var behind: [String] = []
                for (index, follower) in followers.enumerated() {
                    let opened = await follower.opened
                    let seen = await follower.seen
                    guard (opened.last ?? 0) < openedAfter || !expected.isSubset(of: seen) else { continue }
                    behind.append(
                        "#\(index): \(await follower.attempts.count) attempts, \(opened.count) catch-ups, "
                            + "\(await follower.lost.count) losses, \(await follower.catchUpFailures) failed catch-ups, "
                            + "\(expected.subtracting(seen).count) of \(expected.count) messages missing")
                }
                throw Failure(
                    description: "after \(Int(phaseBound)) s only \(ready) of \(connections) connections caught up; "
                        + behind.prefix(5).joined(separator: "; "))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    do {
        let start = monotonicSeconds()
        try await send(messagesPerPhase, "before")
        let allOpen = try await waitForFleet(openedAfter: start, since: start)
        say(String(format: "start: all %ld connections open and caught up in %.2f s", connections, allOpen))
        say("  catch-ups that failed: \(await followers.asyncSum { await $0.catchUpFailures })")
        let sendStart = monotonicSeconds()
        try await send(messagesPerPhase, "live")
        let live = try await waitForFleet(openedAfter: start, since: sendStart)
        say(
            String(
                format: "live: %ld messages reached all %ld connections in %.2f s", messagesPerPhase, connections, live)
        )
        say("  server: \(footprint(server.processIdentifier)); fleet process: \(footprint(getpid()))")

        for restart in 1...max(1, restarts) {
            let stopStart = monotonicSeconds()
            let status = server.stop()
            say(
                String(
                    format: "restart %ld: server stopped (status %ld) in %.2f s with %ld streams open", restart,
                    Int(status),
                    monotonicSeconds() - stopStart, connections))
            try await Task.sleep(for: .seconds(downSeconds))
            // A stream that opened before this (the old server answers one during its shutdown
            // and ends it at once) is not a reconnection to the new server.
            let launched = monotonicSeconds()
            server = try await ReferenceServerProcess.launch(
                databasePath: folder + "/server.sqlite", port: port, arguments: serverArguments)
            let up = monotonicSeconds()
            try await send(messagesPerPhase, "restart \(restart)")
            let caughtUp = try await waitForFleet(openedAfter: launched, since: up)
            var reconnects: [Double] = []
            var attemptTimes: [Double] = []
            var attemptsPerConnection: [Double] = []
            var failedAfterUp = 0
            for follower in followers {
                failedAfterUp += await follower.lost.filter { $0 >= up }.count
                if let opened = await follower.opened.first(where: { $0 >= launched }) {
                    reconnects.append(max(0, opened - up))
                }
                let attempts = await follower.attempts.filter { $0 >= stopStart }
                attemptTimes += attempts
                attemptsPerConnection.append(Double(attempts.count))
            }
            say(
                String(
                    format:
                        "  every connection back and caught up %.2f s after the server was; reconnect p50 %.2f s, max %.2f s",
                    caughtUp, median(reconnects), reconnects.max() ?? 0))
            say("  reconnects after the server was back: " + histogram(reconnects, bucket: 1))
            say(
                "  attempts that failed after the server was back: \(failedAfterUp); most attempts by one connection: \(Int(attemptsPerConnection.max() ?? 0)); catch-ups that failed, in all: \(await followers.asyncSum { await $0.catchUpFailures })"
            )
            // Attempts in 100 ms windows, from the stop to the last attempt.
            let first = attemptTimes.min() ?? stopStart
            var windows = [Int](repeating: 0, count: Int(((attemptTimes.max() ?? first) - first) / 0.1) + 1)
            for time in attemptTimes { windows[Int((time - first) / 0.1)] += 1 }
            say(
                String(
                    format:
                        "  connection attempts: %ld in all (%.1f per connection), peak %ld per 100 ms, mean %.1f per 100 ms over %.1f s",
                    attemptTimes.count, Double(attemptTimes.count) / Double(connections), windows.max() ?? 0,
                    Double(attemptTimes.count) / Double(windows.count), Double(windows.count) / 10))
            say("  server: \(footprint(server.processIdentifier)); fleet process: \(footprint(getpid()))")
        }
        // PG_FLEET_SETTLE=N: stay connected N s more and sample again, to tell memory held until
        // timers expire (a cancelled Task.sleep keeps its timer until its deadline) from growth.
        if let settle = ProcessInfo.processInfo.environment["PG_FLEET_SETTLE"].flatMap(Int.init), settle > 0 {
            try await Task.sleep(for: .seconds(settle))
            say(
                "settled \(settle) s: server: \(footprint(server.processIdentifier)); "
                    + "fleet process: \(footprint(getpid()))")
        }
        let missing = await followers.asyncCount { !Set(sent).isSubset(of: await $0.seen) }
        say("fleet: \(sent.count) messages, \(connections - missing) of \(connections) connections saw every one")
        guard missing == 0 else { throw Failure(description: "\(missing) connections missed messages") }
    } catch {
        for session in sessions { session.cancel() }
        server.stop()
        throw error
    }
    for session in sessions { session.cancel() }
    server.stop()
}

do {
    try await runFleet()
} catch {
    say("error: \(error)")
    exit(1)
}
