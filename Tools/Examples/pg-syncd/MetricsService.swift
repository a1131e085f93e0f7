import Foundation
import Hummingbird
import Logging
import Metrics
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import Prometheus
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// `--metrics-port`: Prometheus text at `/metrics` and a health check at `/healthz`, on loopback
/// only. Values are read from the client every few seconds through swift-metrics, whose backend
/// is swift-prometheus's registry.
struct MetricsService: Service {
    let client: PlusGuidanceClient
    let port: Int
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    /// Seconds a metrics connection may stay without a complete request.
    static let idleTimeout: Int64 = 10

    func run() async throws {
        let router = Router()
        let registry = self.registry
        let client = self.client
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/healthz") { _, _ -> Response in
            let status = try await client.status()
            let healthy: Bool =
                switch status.phase {
                case .live, .idle, .syncing, .connecting: true
                case .offline, .error, .signedOut, .runByAnotherProcess: false
                }
            return Response(
                status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: healthy ? "ok\n" : "\(status.phase)\n")))
        }
        var quiet = logger
        quiet.logLevel = .warning
        let app = Application(
            router: router,
            // A scrape takes milliseconds: a connection silent for this long (headers that never
            // end, a keep-alive nobody uses) is closed, so a flood cannot pile up descriptors.
            server: .http1(configuration: .init(idleTimeout: .seconds(Self.idleTimeout))),
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "pg-syncd"),
            logger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            group.addTask { await Self.sample(client) }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Copies the client's state into gauges and counters every 2 s.
    static func sample(_ client: PlusGuidanceClient) async {
        let pending = Metrics.Gauge(label: "pg_outbox_pending")
        let failed = Metrics.Gauge(label: "pg_outbox_failed")
        let oldest = Metrics.Gauge(label: "pg_outbox_oldest_pending_age_seconds")
        let lastPull = Metrics.Gauge(label: "pg_last_successful_pull_timestamp_seconds")
        let reconnects = Metrics.Counter(label: "pg_live_reconnects_total")
        let live = Metrics.Gauge(label: "pg_live")
        var reported = 0
        var failuresByCode: [String: Metrics.Gauge] = [:]
        var mostDescriptors = openDescriptors()
        while !Task.isCancelled {
            // A flood of connections the idle timeout has shed leaves its buffers' memory in
            // malloc's free lists: give it back to the system (51.8 MB stayed resident after
            // 1,500 slow connections).
            let descriptors = openDescriptors()
            if descriptors + 100 < mostDescriptors {
                trimMalloc()
                mostDescriptors = descriptors
            }
            mostDescriptors = max(mostDescriptors, descriptors)
            if let status = try? await client.status() {
                pending.record(status.pendingOutbox)
                failed.record(status.failedOutbox)
                oldest.record(status.oldestPendingSince.map { max(0, Date().timeIntervalSince($0)) } ?? 0)
                lastPull.record(status.lastSuccessfulSync?.timeIntervalSince1970 ?? 0)
                if status.liveReconnects > reported {
                    reconnects.increment(by: status.liveReconnects - reported)
                    reported = status.liveReconnects
                }
                if case .live = status.phase { live.record(1) } else { live.record(0) }
            }
            if let entries = try? await client.outbox(recordingActivity: false) {
                var counts: [String: Int] = [:]
                for entry in entries { if let code = entry.lastError?.code { counts[code, default: 0] += 1 } }
                for code in Set(failuresByCode.keys).union(counts.keys) {
                    let gauge =
                        failuresByCode[code] ?? Metrics.Gauge(label: "pg_outbox_errors", dimensions: [("code", code)])
                    failuresByCode[code] = gauge
                    gauge.record(counts[code] ?? 0)
                }
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }
}

/// How many descriptors this process has open (`/proc/self/fd`), or 0 where it cannot tell.
private func openDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
}

/// glibc's `malloc_trim(0)`: returns the free memory of every arena to the system. It is in
/// `<malloc.h>`, which Swift's Glibc module does not import, so it is looked up once.
private func trimMalloc() {
    typealias Trim = @convention(c) (Int) -> Int32
    guard let symbol = mallocTrim else { return }
    _ = unsafeBitCast(symbol, to: Trim.self)(0)
}

// nonisolated(unsafe): a pointer to a C function, written once by its lazy initialisation.
private nonisolated(unsafe) let mallocTrim = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim")
