import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs blocking work (waiting for a process, reading a pipe) on a thread of its own, so that it
/// never occupies one of Swift concurrency's few cooperative threads: on a 2-core machine two
/// tests blocking there at once would stall every other task.
public func onDedicatedThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}

/// The outcome of a finished process.
public struct ProcessOutcome: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` with `arguments` to completion, feeding `stdin`, without blocking a
/// cooperative thread.
///
/// A process still running after `timeout` is killed (status 137). Its output is read until the
/// process exits and then for at most a second more: a grandchild that inherited a pipe (a
/// server the command started) cannot keep the caller waiting. `environment` entries are set
/// over this process's environment (an empty value removes the variable).
public func runProcess(
    _ executable: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
    timeout: Duration = .seconds(300)
) async throws -> ProcessOutcome {
    try await onDedicatedThread {
        let process = try ChildProcess(
            executable, arguments, environment: environment, stdin: .pipe, stdout: .pipe, stderr: .pipe)
        if let stdin { try? process.standardInput?.write(contentsOf: Data(stdin.utf8)) }
        process.closeStandardInput()
        // Each pipe is drained on a thread of its own, so a chatty process cannot fill one pipe
        // while we wait on the other.
        let outputs = [PipeCollector(process.standardOutput), PipeCollector(process.standardError)]
        let status = process.wait(deadline: .now + timeout)
        let grace = ContinuousClock.now + .seconds(1)
        while outputs.contains(where: { !$0.done }) && ContinuousClock.now < grace { usleep(1_000) }
        return ProcessOutcome(
            status: status, stdout: String(decoding: outputs[0].data, as: UTF8.self),
            stderr: String(decoding: outputs[1].data, as: UTF8.self))
    }
}

/// This process's environment with `changes` set over it; an empty value removes the variable.
public func mergedEnvironment(_ changes: [String: String]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    for (name, value) in changes { environment[name] = value.isEmpty ? nil : value }
    return environment
}

/// Reads a pipe to its end on a thread of its own, keeping what has arrived so far.
private final class PipeCollector: @unchecked Sendable {
    // @unchecked: `storage` and `finished` are only touched under `lock`.
    private let lock = NSLock()
    private var storage = Data()
    private var finished = false
    var data: Data { lock.withLock { storage } }
    var done: Bool { lock.withLock { finished } }

    init(_ handle: FileHandle?) {
        guard let handle else {
            finished = true
            return
        }
        let reader = Thread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.withLock { storage.append(chunk) }
            }
            lock.withLock { finished = true }
        }
        reader.start()
    }
}
