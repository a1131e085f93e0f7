import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting

#if canImport(Glibc)
    import Glibc
#endif

/// `handoff-benchmark wire [texts]`: a text queued on a profile that `pg-syncd` keeps live,
/// as `pg send` queues it (this process opens the profile with the SDK and calls `send`, which
/// only queues, since the daemon holds the engine), until the daemon's request for it reaches
/// a TCP proxy in front of `pg-server`. Times are CLOCK_MONOTONIC in both processes; the proxy
/// stamps a request when its first bytes arrive, before forwarding them. Reports p50/p99 from
/// the return of `send` (its commit, the marker bump and one read of the entry done) and from
/// its call (the commit with its fsync included). Release binaries `pg-syncd` and `pg-server`
/// must sit beside this one.
func wireHandoff(texts: Int) async throws -> (fromCommit: [Double], fromCall: [Double], commit: [Double]) {
    let folder = FileManager.default.temporaryDirectory.path + "/handoff-wire-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    setenv("PG_KEY_FILE", folder + "/key", 1)

    let server = try await ReferenceServerProcess.launch(arguments: ["--seed", "demo"])
    defer { _ = server.stop() }
    let proxy = try FaultInjectingProxy(upstreamPort: server.url.port!)
    defer { proxy.stop() }
    let arrivals = Arrivals()
    proxy.observeRequests { bytes in
        let stamp = monotonicNanoseconds()
        if bytes.starts(with: Array("POST ".utf8)) { arrivals.add(stamp) }
        if bytes.starts(with: Array("GET /v1/events".utf8)) { arrivals.streamOpened() }
    }

    var configuration = ClientConfiguration(serverURL: proxy.url, profile: folder + "/kiosk")
    configuration.keys = FileKeyProvider(path: folder + "/key")
    configuration.cacheIntegrityCheck = .skipped
    let client = try await PlusGuidanceClient.open(configuration)
    _ = try await client.signIn(email: "alice@example.com", password: "alice-pass")
    guard let daemonPath = ReferenceServerProcess.productPath("pg-syncd") else {
        throw BenchmarkFailure("pg-syncd is not built beside this benchmark")
    }
    let daemon = try ChildProcess(
        daemonPath, ["--server", proxy.url.absoluteString, "--profile", folder + "/kiosk"], stdin: .null,
        stdout: .null, stderr: .null)
    defer {
        daemon.signal(SIGTERM)
        _ = daemon.wait()
    }
    // Live, and the first catch-up done (the contacts are in the shared cache).
    var peer: UserID?
    for _ in 0..<400 where peer == nil || !arrivals.isStreamOpen {
        peer = try await client.contacts().first?.id
        try await Task.sleep(for: .milliseconds(25))
    }
    guard let peer, arrivals.isStreamOpen else { throw BenchmarkFailure("the daemon did not go live") }
    try await Task.sleep(for: .seconds(1))

    var fromCommit: [Double] = []
    var fromCall: [Double] = []
    var commit: [Double] = []
    for i in 0..<texts {
        let before = arrivals.count
        let called = monotonicNanoseconds()
        _ = try await client.send("hand-off \(i)", to: peer)
        let returned = monotonicNanoseconds()
        var arrival: UInt64?
        for _ in 0..<5_000 {
            arrival = arrivals.first(after: before)
            if arrival != nil { break }
            try await Task.sleep(for: .milliseconds(1))
        }
        guard let arrival else { throw BenchmarkFailure("text \(i) did not reach the server within 5 s") }
        fromCommit.append(Double(Int64(bitPattern: arrival &- returned)) / 1e6)
        fromCall.append(Double(arrival &- called) / 1e6)
        commit.append(Double(returned &- called) / 1e6)
        // Let the answer come back and the daemon settle before the next text.
        try await Task.sleep(for: .milliseconds(30))
    }
    await client.close()
    return (fromCommit.sorted(), fromCall.sorted(), commit.sorted())
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The monotonic times of the POST requests the proxy saw.
final class Arrivals: @unchecked Sendable {
    // @unchecked: every member is touched under `lock` only.
    private let lock = NSLock()
    private var stamps: [UInt64] = []
    private var streamOpen = false
    func add(_ stamp: UInt64) { lock.withLock { stamps.append(stamp) } }
    func streamOpened() { lock.withLock { streamOpen = true } }
    var isStreamOpen: Bool { lock.withLock { streamOpen } }
    var count: Int { lock.withLock { stamps.count } }
    func first(after index: Int) -> UInt64? { lock.withLock { stamps.count > index ? stamps[index] : nil } }
}

/// `handoff-benchmark observe N PROFILE SERVER`: opens the signed-in profile with the SDK, as an
/// app beside `pg-syncd` would, keeps N observations open (contacts, messages, offers, upcoming
/// sessions and the outbox in turn), prints `ready` once each has its first value, and waits
/// until killed: `Benchmarks/cli/idle-daemon.sh` counts its wake-ups while nothing happens.
func holdObservations(_ count: Int, profile: String, server: URL) async throws -> Never {
    var configuration = ClientConfiguration(serverURL: server, profile: profile)
    configuration.cacheIntegrityCheck = .skipped
    let client = try await PlusGuidanceClient.open(configuration)
    guard let peer = try await client.contacts().first?.id else { throw BenchmarkFailure("no contact in the cache") }
    let ready = Arrivals()
    var tasks: [Task<Void, Never>] = []
    for i in 0..<count {
        func follow<T: Sendable>(_ stream: AsyncThrowingStream<T, any Error>) -> Task<Void, Never> {
            following(stream, telling: ready)
        }
        switch i % 5 {
        case 0: tasks.append(follow(try await client.observeContacts()))
        case 1: tasks.append(follow(try await client.observeMessages(with: peer)))
        case 2: tasks.append(follow(try await client.observeOffers()))
        case 3: tasks.append(follow(try await client.observeUpcomingSessions()))
        default: tasks.append(follow(try await client.observeOutbox()))
        }
    }
    while ready.count < count { try await Task.sleep(for: .milliseconds(10)) }
    say("ready")
    while true { try await Task.sleep(for: .seconds(3_600)) }
}

/// Consumes `stream` for good, telling `ready` of its first value.
func following<T: Sendable>(_ stream: AsyncThrowingStream<T, any Error>, telling ready: Arrivals) -> Task<Void, Never> {
    Task {
        var told = false
        do {
            for try await _ in stream where !told {
                told = true
                ready.add(0)
            }
        } catch {}
    }
}
