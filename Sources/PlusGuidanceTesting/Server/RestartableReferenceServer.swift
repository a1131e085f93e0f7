import Foundation

/// A `pg-server` that can be stopped and started again at the same address, for tests of
/// what clients do while their server is down.
///
/// Clients talk to a ``FaultInjectingProxy`` whose port stays taken for the whole test. Stopping
/// a bare ``ReferenceServerProcess`` and launching another on its old port is racy: while the
/// port is free, another process can take it (a test running in parallel starts its own
/// server), and the clients then talk to a stranger that refuses their tokens.
///
/// ```swift
/// let server = try await RestartableReferenceServer.launch(databasePath: folder + "/server.sqlite")
/// defer { server.shutdown() }
/// // clients use server.url
/// server.stop()                 // unreachable; nothing else can take the address
/// try await server.start()      // back, same database, same address
/// ```
public final class RestartableReferenceServer: @unchecked Sendable {
    // @unchecked: `current` is only touched under `lock`; the rest is immutable.
    /// Where clients reach the server, across stops and starts.
    public var url: URL { proxy.url }
    /// The proxy in front, for faults beyond a stopped server.
    public let proxy: FaultInjectingProxy
    private let databasePath: String?
    private let arguments: [String]
    private let lock = NSLock()
    private var current: ReferenceServerProcess?

    private init(proxy: FaultInjectingProxy, server: ReferenceServerProcess, databasePath: String?, arguments: [String])
    {
        self.proxy = proxy
        self.current = server
        self.databasePath = databasePath
        self.arguments = arguments
    }

    /// Starts `pg-server` (see ``ReferenceServerProcess/launch(databasePath:port:arguments:)``)
    /// and the proxy in front of it.
    public static func launch(
        databasePath: String? = nil, arguments: [String] = ["--seed", "demo", "--test-clock"]
    ) async throws -> RestartableReferenceServer {
        let server = try await ReferenceServerProcess.launch(databasePath: databasePath, arguments: arguments)
        do {
            let proxy = try FaultInjectingProxy(upstreamPort: server.url.port ?? 0)
            return RestartableReferenceServer(
                proxy: proxy, server: server, databasePath: databasePath, arguments: arguments)
        } catch {
            server.stop()
            throw error
        }
    }

    /// The running server itself, bypassing the proxy; `nil` while stopped.
    public var server: ReferenceServerProcess? { lock.withLock { current } }

    /// Stops the server (SIGTERM, waiting for its exit). Clients see an unreachable server.
    public func stop() {
        let server = lock.withLock {
            defer { current = nil }
            return current
        }
        server?.stop()
    }

    /// Starts a server again behind the same address, on the same database (when ``launch``
    /// named one: a temporary database goes with the server that made it); with
    /// `freshDatabase`, on a new temporary one instead (a server that lost everything, whose
    /// cursors mean nothing any more).
    public func start(freshDatabase: Bool = false) async throws {
        stop()
        let server = try await ReferenceServerProcess.launch(
            databasePath: freshDatabase ? nil : databasePath, arguments: arguments)
        proxy.forward(toPort: server.url.port ?? 0)
        lock.withLock { current = server }
    }

    /// Stops the server and the proxy.
    public func shutdown() {
        stop()
        proxy.stop()
    }
}
