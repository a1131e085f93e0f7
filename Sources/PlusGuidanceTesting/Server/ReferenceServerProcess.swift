import Foundation

/// A `pg-server` process for integration tests: started on a free loopback port with its own
/// temporary database, the demo seed and the test clock, and stopped with SIGTERM.
///
/// ```swift
/// let server = try await ReferenceServerProcess.launch()
/// defer { server.stop() }
/// let client = makeClient(baseURL: server.url)
/// ```
///
/// The binary is found through `PG_SERVER_BINARY`, next to the running test executable (where
/// `swift build` puts every product), or on `PATH`.
public final class ReferenceServerProcess: Sendable {
    /// The server's base URL, e.g. `http://127.0.0.1:40123`.
    public let url: URL
    /// The database file; kept after ``stop()`` when it was passed in.
    public let databasePath: String
    /// Its stdin is a pipe whose write end is closed only when this process ends (see
    /// ``launch(databasePath:port:arguments:)``).
    private let process: ChildProcess
    private let ownsDatabase: Bool

    public enum LaunchError: Error, CustomStringConvertible {
        case binaryNotFound
        case exitedEarly(status: Int32)
        case unexpectedFirstLine(String)

        public var description: String {
            switch self {
            case .binaryNotFound: "pg-server not found: build it (swift build) or set PG_SERVER_BINARY"
            case .exitedEarly(let status): "pg-server exited with status \(status) before listening"
            case .unexpectedFirstLine(let line): "pg-server's first line was not 'listening on …': \(line)"
            }
        }
    }

    private init(url: URL, databasePath: String, process: ChildProcess, ownsDatabase: Bool) {
        self.url = url
        self.databasePath = databasePath
        self.process = process
        self.ownsDatabase = ownsDatabase
    }

    /// The path of a product built by this package (`pg-server`, `pg`, …), if found.
    public static func productPath(_ name: String) -> String? {
        if let explicit = ProcessInfo.processInfo.environment["PG_SERVER_BINARY"], name == "pg-server",
            FileManager.default.isExecutableFile(atPath: explicit)
        {
            return explicit
        }
        var candidates: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
            // An .xctest bundle on macOS nests the executable two levels deeper.
            let configuration = folder.lastPathComponent
            for _ in 0..<4 {
                candidates.append(folder.appendingPathComponent(name).path)
                folder.deleteLastPathComponent()
            }
            // The SDK's own tests (the repository's root package) run the commands and the
            // server that the package in Tools/ builds: `<root>/Tools/.build/<configuration>/`.
            var root = URL(fileURLWithPath: executable).deletingLastPathComponent()
            for _ in 0..<5 {
                for build in [configuration, "debug", "release"] {
                    candidates.append(root.appendingPathComponent("Tools/.build/\(build)/\(name)").path)
                }
                root.deleteLastPathComponent()
            }
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        candidates += path.split(separator: ":").map { "\($0)/\(name)" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts `pg-server` and waits for its `listening on` line.
    /// - Parameters:
    ///   - databasePath: the database to use; a new temporary one when `nil`.
    ///   - arguments: extra arguments; the default adds the demo seed and the test clock.
    ///   - port: the port to listen on; a free one when 0. Pass the port of an earlier run to
    ///     restart a server where its clients expect it.
    public static func launch(
        databasePath: String? = nil, port: Int = 0, arguments: [String] = ["--seed", "demo", "--test-clock"]
    ) async throws -> ReferenceServerProcess {
        guard let binary = productPath("pg-server") else { throw LaunchError.binaryNotFound }
        let database =
            databasePath ?? FileManager.default.temporaryDirectory.path + "/pg-server-\(UUID().uuidString).sqlite"
        // Cheap password hashes: suites start servers and sign in by the dozen, in parallel, on
        // two cores; at the standard cost the hashing alone pushed requests past their deadlines.
        // Its stdin's write end stays open in this process only: should it die without stopping
        // the server (a crash, SIGKILL), the server sees its stdin close and shuts down, instead
        // of living on and holding the pipes of whoever waits for this process.
        let process = try ChildProcess(
            binary,
            [
                "--port", "\(port)", "--database", database, "--log-level", "warning", "--exit-with-stdin",
                "--password-cost", "testing",
            ] + arguments, stdin: .pipe, stdout: .pipe, stderr: .inherit)
        let line = try await onDedicatedThread { () -> String in
            var bytes: [UInt8] = []
            while true {
                let chunk = try process.standardOutput?.read(upToCount: 1) ?? Data()
                guard let byte = chunk.first else { break }
                if byte == UInt8(ascii: "\n") { break }
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        guard process.isRunning else { throw LaunchError.exitedEarly(status: process.wait()) }
        guard line.hasPrefix("listening on "), let url = URL(string: String(line.dropFirst("listening on ".count)))
        else {
            process.signal(SIGTERM)
            throw LaunchError.unexpectedFirstLine(line)
        }
        // Whatever else it prints is read and dropped, so that a full pipe never stalls it.
        if let output = process.standardOutput { Thread { while !output.availableData.isEmpty {} }.start() }
        return ReferenceServerProcess(
            url: url, databasePath: database, process: process, ownsDatabase: databasePath == nil)
    }

    /// The process id, e.g. to send it signals.
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Sends SIGTERM, waits for the exit and returns its status. A server still running 20 s
    /// later (past its own shutdown bound) is killed, and 137 returned.
    @discardableResult
    public func stop() -> Int32 {
        process.signal(SIGTERM)
        let status = process.wait(deadline: .now + .seconds(20))
        if ownsDatabase {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: databasePath + suffix) }
        }
        return status
    }
}
