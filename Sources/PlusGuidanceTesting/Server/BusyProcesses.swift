import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Processes that keep the cores busy until stopped: the load under which a race between the
/// SDK's tasks and an app's next action shows (an observation whose first value was read late).
/// Each ends by itself after 10 minutes should the test process die before it stops them.
public final class BusyProcesses: Sendable {
    private let processes: [ChildProcess]

    /// Starts `count` busy loops.
    public init(_ count: Int) throws {
        processes = try (0..<count).map { _ in
            try ChildProcess("/usr/bin/timeout", ["600", "/bin/sh", "-c", "while :; do :; done"])
        }
    }

    /// Stops them and waits for them to exit.
    public func stop() {
        for process in processes {
            process.signal(SIGTERM)  // timeout(1) passes it on to the loop
            _ = process.wait()
        }
    }
}
