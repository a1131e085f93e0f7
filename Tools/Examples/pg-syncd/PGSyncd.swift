import ArgumentParser
import Foundation
import Logging
import Metrics
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `pg-syncd`: keeps one profile's account synced and live (which also keeps a client online),
/// shares the profile with `pg`, drains the outbox and exits 0 on SIGTERM or SIGINT.
@main
struct PGSyncd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pg-syncd", abstract: "Keeps a PlusGuidance profile synced and live, for kiosks.")

    @Option(help: "The API server (env PG_SERVER; default http://127.0.0.1:8080).") var server: String?
    @Option(help: "The profile folder (env PG_PROFILE; default $XDG_DATA_HOME/plusguidance).") var profile: String?
    @Option(help: "Serve Prometheus metrics (/metrics) and a health check (/healthz) on this loopback port.")
    var metricsPort: Int?
    @Option(
        help: ArgumentHelp(
            "The key that unlocks the profile (env PG_KEY_FILE; default: the systemd credential plusguidance.key, else ~/.config/plusguidance/key).",
            valueName: "path"))
    var keyFile: String?
    @Option(
        help: ArgumentHelp(
            "Sign out after this many minutes without user activity (a pg command, an app's read or write), keeping the outbox; then wait for the next sign-in. For shared devices.",
            valueName: "minutes"))
    var idleSignOut: Double?

    func validate() throws {
        if let metricsPort, !(1...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be 1...65535")
        }
        if let idleSignOut, !(idleSignOut.isFinite && idleSignOut > 0 && idleSignOut <= 10_080) {
            throw ValidationError("--idle-sign-out must be more than 0 and at most 10080 minutes")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label -> any LogHandler in
            if isatty(STDERR_FILENO) != 0 { return StreamLogHandler.standardError(label: label) }
            return JSONLineLogHandler(label: label)
        }
        let logger = Logger(label: "pg-syncd")
        let environment = ProcessInfo.processInfo.environment
        let serverText = server ?? environment["PG_SERVER"] ?? "http://127.0.0.1:8080"
        guard let url = URL(string: serverText), url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("--server must be an http(s) URL")
        }
        let folder =
            profile ?? environment["PG_PROFILE"]
            ?? (environment["XDG_DATA_HOME"].map { $0 + "/plusguidance" } ?? NSHomeDirectory()
                + "/.local/share/plusguidance")
        var configuration = ClientConfiguration(serverURL: url, profile: folder)
        configuration.keys = KeySource.provider(keyFile: keyFile, keyFileOrigin: "--key-file")
        if let idleSignOut { configuration.idleSignOut = .milliseconds(Int64(idleSignOut * 60_000)) }
        let client: PlusGuidanceClient
        do {
            client = try await PlusGuidanceClient.open(configuration)
        } catch let error as PersistenceError where error == .keyUnavailableCode {
            FileHandle.standardError.write(Data("pg-syncd: \(error.reason) (\(error.path ?? "no key"))\n".utf8))
            throw ExitCode(77)
        }
        guard await client.currentUser != nil else {
            FileHandle.standardError.write(
                Data("pg-syncd: not signed in: run `pg login EMAIL --password-stdin` first\n".utf8))
            throw ExitCode(77)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: SyncService(client: client, logger: logger, notifier: SystemdNotifier()))
        ]
        if let metricsPort {
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            services.append(
                .init(service: MetricsService(client: client, port: metricsPort, registry: registry, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Runs the engine live until graceful shutdown, then drains the outbox for a few seconds.
///
/// SIGTERM ends it within ``drainBound`` plus a request's connect time whatever the network
/// does: the start-up sync is cancelled by the shutdown, and the drain (and everything after
/// it) is cut off at the bound.
struct SyncService: Service {
    let client: PlusGuidanceClient
    let logger: Logger
    let notifier: SystemdNotifier
    /// How long the drain after SIGTERM may take.
    var drainBound: Duration = .seconds(5)
    /// Whether the account was seen signed out (logged once per sign-out).
    let wasSignedOut = Flag()

    func run() async throws {
        let client = self.client
        // Catch up before going live, unless the daemon is told to stop first.
        _ = try? await cancelWhenGracefulShutdown { try await client.syncNow() }
        let health = Task { await Self.logCacheHealth(client, logger) }
        let quarantine = Task { await Self.logUnreadableEntries(client, logger) }
        defer {
            health.cancel()
            quarantine.cancel()
        }
        if !Task.isShuttingDownGracefully {
            try await client.startLive()
            notifier.notify("READY=1\nSTATUS=live")
            logger.info("syncing", metadata: ["server": "\(client.configuration.serverURL.host ?? "?")"])
            // Once live, and once more after the first catch-up and heartbeats.
            StartupPages.release()
            Task {
                try? await Task.sleep(for: .seconds(30))
                StartupPages.release()
            }
        }
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                if let watchdog = notifier.watchdogInterval {
                    notifier.notify("WATCHDOG=1")
                    try? await Task.sleep(for: min(watchdog, .seconds(5)))
                } else if await client.currentUser != nil {
                    // Signed in and without a watchdog to feed: nothing to do until the account
                    // ends, so no timer wakes the daemon (the engine's own tasks do the work).
                    await cancelWhenGracefulShutdown { await client.accountEnded() }
                } else {
                    // Signed out: look for the next `pg login` on the profile.
                    try? await Task.sleep(for: .seconds(5))
                }
                await followSignIns()
            }
        } onGracefulShutdown: {
        }
        notifier.notify("STOPPING=1\nSTATUS=draining the outbox")
        // Drain briefly: deliver what can be delivered now; the rest stays queued for next time.
        let drained = try? await withTimeLimit(drainBound) {
            await client.stopLive()
            while let status = try? await client.status(), status.pendingOutbox > 0 {
                do { try await client.syncNow() } catch { break }
            }
            return true
        }
        if drained == nil { logger.notice("drain cut off at its bound", metadata: ["bound": "\(drainBound)"]) }
        let pending = (try? await client.status().pendingOutbox) ?? -1
        await client.close()
        logger.info("stopped", metadata: ["outbox.pending": "\(pending)"])
    }
}

extension SyncService {
    /// After a sign-out (idle, `pg logout`, refused tokens) the daemon keeps running and
    /// waits for the next `pg login` on the profile, then syncs and goes live again.
    /// Says when the cache goes stale (a live change the disk refused) and when it caught up.
    static func logCacheHealth(_ client: PlusGuidanceClient, _ logger: Logger) async {
        var stale = false
        do {
            for try await status in try await client.observeStatus() {
                let now = status.phase == .error(reason: "storage_failed")
                guard now != stale else { continue }
                stale = now
                if now {
                    logger.error(
                        "a live change could not be stored; catching up once the disk takes writes",
                        metadata: ["code": "storage_failed"])
                } else {
                    logger.notice("the cache caught up after a storage failure")
                }
            }
        } catch {}
    }

    /// Says once for each outbox entry that cannot be read (a damaged row, quarantined: the rest
    /// of the outbox goes out), by its key: never by what it holds.
    static func logUnreadableEntries(_ client: PlusGuidanceClient, _ logger: Logger) async {
        var reported: Set<IdempotencyKey> = []
        do {
            for try await entries in try await client.observeOutbox() {
                for entry in entries where !reported.contains(entry.id) {
                    guard case .unreadable = entry.action else { continue }
                    reported.insert(entry.id)
                    logger.error(
                        "an outbox entry cannot be read and is set aside; discard it with pg outbox discard",
                        metadata: ["code": "undecodable", "entry": "\(entry.id)"])
                }
            }
        } catch {}
    }

    func followSignIns() async {
        if await client.currentUser != nil { return }
        if !wasSignedOut.swap(true) { logger.notice("signed out; waiting for the next sign-in on the profile") }
        guard (try? await client.reloadAccount()) != nil else { return }
        wasSignedOut.swap(false)
        _ = try? await client.syncNow()
        try? await client.startLive()
        logger.info("signed in again; syncing")
    }
}

/// A flag shared by the daemon's loop iterations.
final class Flag: Sendable {
    private let lock = NSLock()
    private nonisolated(unsafe) var value = false

    /// Sets the flag and returns what it was.
    @discardableResult func swap(_ new: Bool) -> Bool {
        lock.withLock {
            let old = value
            value = new
            return old
        }
    }
}

/// One JSON object per line on stderr (for journald and log shippers): time, level, label,
/// message and metadata. Callers put no message bodies or tokens in either.
struct JSONLineLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: String] = [
            "time": WireDecoding.timeString(Date()), "level": event.level.rawValue, "label": label,
            "message": event.message.description,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = "\(value)"
        }
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            FileHandle.standardError.write(data + Data("\n".utf8))
        }
    }
}
