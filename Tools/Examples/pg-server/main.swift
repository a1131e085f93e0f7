import ArgumentParser
import Foundation
import Logging
import PlusGuidanceServer
import UnixSignals

/// `pg-server`: the reference PlusGuidance API server (BRIEF.md, command-line contract).
@main
struct PGServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pg-server",
        abstract: "Runs the reference PlusGuidance API server.",
        discussion: "Prints `listening on http://HOST:PORT` as its first line once it accepts connections.")

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind; 0 picks a free one.") var port = 8080
    @Option(help: "SQLite database file; kept across restarts.") var database = "pg-server.sqlite"
    @Option(help: "Data set to create when missing: demo, or practice (the demo and 30 more clients).")
    var seed: String?
    @Flag(help: "Drive every rule from a clock moved by POST /v1/test/clock/advance.") var testClock = false
    @Option(help: "Seconds after a request that a person still counts as online.") var presenceWindow: Double = 60
    @Option(help: "Seconds between event-stream heartbeats.") var heartbeat: Double = 15
    @Option(help: "Access token lifetime in seconds.") var accessTokenLifetime: Double = 900
    @Option(help: "Seconds a connection may go without a complete request before it is closed.")
    var idleTimeout: Double = 75
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Flag(help: "Shut down when standard input closes (a parent that started the server and died).")
    var exitWithStdin = false
    @Option(
        help:
            "scrypt cost of new password hashes: standard (N=2^15, the default), or testing (N=2^10: for test suites, which create accounts by the dozen on a loaded machine)."
    )
    var passwordCost = "standard"

    func validate() throws {
        if let seed, ServerConfiguration.Seed(rawValue: seed) == nil {
            throw ValidationError("unknown seed '\(seed)'; use 'demo' or 'practice'")
        }
        guard (0...65_535).contains(port) else { throw ValidationError("port must be 0...65535") }
        guard presenceWindow >= 0, heartbeat > 0, accessTokenLifetime > 0, idleTimeout >= 1 else {
            throw ValidationError("durations must be positive")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown log level '\(logLevel)'") }
        guard ["standard", "testing"].contains(passwordCost) else {
            throw ValidationError("unknown password cost '\(passwordCost)'; use standard or testing")
        }
    }

    func run() async throws {
        var configuration = ServerConfiguration(databasePath: database)
        configuration.host = host
        configuration.port = port
        configuration.seed = seed.flatMap(ServerConfiguration.Seed.init(rawValue:))
        configuration.testClock = testClock
        configuration.presenceWindow = presenceWindow
        configuration.heartbeatInterval = heartbeat
        configuration.accessTokenLifetime = accessTokenLifetime
        configuration.idleTimeout = idleTimeout
        configuration.passwordCost = passwordCost == "testing" ? .testing : .standard

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let server = try PlusGuidanceReferenceServer(configuration: configuration)
        if exitWithStdin {
            Thread.detachNewThread {
                _ = FileHandle.standardInput.readDataToEndOfFile()
                kill(getpid(), SIGTERM)
            }
        }
        // A bound on SIGTERM whatever clients do: the graceful shutdown cancels what is still in
        // flight after `shutdownGrace`; should even that hang, the process ends here.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        Task.detached {
            for await _ in signals {
                try? await Task.sleep(for: .seconds(10))
                FileHandle.standardError.write(Data("pg-server: shutdown took over 10 s; exiting\n".utf8))
                Foundation.exit(0)
            }
        }
        try await server.run(shutdownSignals: [.sigterm, .sigint]) { url in
            // Written unbuffered: scripts wait for this line before connecting.
            FileHandle.standardOutput.write(Data("listening on \(url.absoluteString)\n".utf8))
        }
    }
}
