import Foundation
import Hummingbird
import Logging
import NIOCore
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import ServiceLifecycle
import UnixSignals

/// The reference implementation of the PlusGuidance API (Documentation/openapi.yaml), for
/// development, tests and the demo: Hummingbird 2 over SQLite, enforcing R1–R8 with the Domain's
/// rules.
///
/// ```swift
/// var configuration = ServerConfiguration(databasePath: "/tmp/pg.sqlite")
/// configuration.port = 0
/// configuration.seed = .demo
/// let server = try PlusGuidanceReferenceServer(configuration: configuration)
/// try await server.run { url in print("listening on \(url)") }
/// ```
public struct PlusGuidanceReferenceServer: Sendable {
    public let configuration: ServerConfiguration
    let store: ServerStore
    let hub: LiveHub
    let logger: Logger

    /// Opens (creating and migrating) the database and seeds it as configured.
    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "pg-server")) throws {
        self.configuration = configuration
        self.logger = logger
        let clock = ServerClock(
            testClockStart: configuration.testClock ? configuration.testClockStart : nil,
            runs: configuration.testClockRuns)
        store = try ServerStore(configuration: configuration, clock: clock)
        hub = LiveHub(policy: PresencePolicy(window: configuration.presenceWindow))
    }

    /// Serves until the task is cancelled or, with `shutdownSignals`, until one of those signals
    /// arrives; then stops accepting, ends open event streams and returns once in-flight
    /// requests are answered. `onListening` is called once connections are accepted, with the
    /// base URL (the real port when ``ServerConfiguration/port`` is 0).
    public func run(
        shutdownSignals: [UnixSignal] = [], onListening: @escaping @Sendable (URL) async -> Void = { _ in }
    ) async throws {
        let router = Router(context: APIContext.self)
        router.add(middleware: ServerTimeMiddleware(clock: store.clock))
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: ProblemMiddleware())
        Routes(store: store, hub: hub, configuration: configuration).register(on: router)

        let host = configuration.host
        let app = Application(
            router: router,
            // A connection that sends no complete request for this long is closed: one that never
            // finishes its headers must not hold a descriptor for ever (a slow-headers flood). An
            // event stream is a response in progress, which the timeout leaves alone.
            server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1_000)))),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "pg-server"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let shown = host.contains(":") ? "[\(host)]" : host
                await onListening(URL(string: "http://\(shown):\(port)")!)
            },
            logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: app), .init(service: Maintenance(store: store, hub: hub, logger: logger))],
            gracefulShutdownSignals: shutdownSignals, logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGrace
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}

/// Expires overdue offers every second (R4: "even if nobody asks"), prunes the feed and old
/// idempotency answers every hour, and ends event streams when the server shuts down.
struct Maintenance: Service {
    let store: ServerStore
    let hub: LiveHub
    let logger: Logger

    func run() async throws {
        let hub = self.hub
        await withGracefulShutdownHandler {
            var sincePrune = 0
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                do {
                    if try await store.expireDueOffers() > 0 { await hub.changed() }
                    if sincePrune == 0 { try await store.prune() }
                } catch {
                    logger.error("maintenance failed", metadata: ["error.type": "\(type(of: error))"])
                }
                sincePrune = (sincePrune + 1) % 3_600
                try? await Task.sleep(for: .seconds(1))
            }
        } onGracefulShutdown: {
            Task { await hub.closeAll() }
        }
    }
}
