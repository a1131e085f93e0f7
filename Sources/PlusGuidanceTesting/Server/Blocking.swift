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

/// Waits for `process` to exit and returns its status: the exit code, or 128 + the signal.
///
/// Blocks: call it from a thread of its own (``onDedicatedThread(_:)``). Use it instead of
/// Foundation's `waitUntilExit()`, which on Linux learns of the exit through a socket the child
/// inherits: when another process is spawned at the same moment and inherits that socket too,
/// the exit goes unnoticed while the other one lives (swift-corelibs-foundation#4795). Seen
/// here as a test spinning for good in `waitUntilExit()` on a `pg-server` that was already a
/// zombie. `waitid` with `WNOWAIT` asks the kernel instead and leaves the reaping to Foundation.
///
/// With a `deadline`, a process still running then is sent SIGKILL (and reported as 128 + 9), so
/// that a hung child fails its test instead of hanging the whole run.
@discardableResult
public func waitForExit(_ process: Process, deadline: ContinuousClock.Instant? = nil) -> Int32 {
    let pid = process.processIdentifier
    while process.isRunning {
        if let deadline, ContinuousClock.now >= deadline {
            kill(pid, SIGKILL)
            return waitForExit(process)
        }
        var info = siginfo_t()
        if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid {
            let status = info._sifields._sigchld.si_status
            return info.si_code == Int32(CLD_EXITED) ? status : 128 + status
        }
        usleep(2_000)
    }
    let status = process.terminationStatus
    return process.terminationReason == .uncaughtSignal ? 128 + status : status
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = mergedEnvironment(environment) }
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Each pipe is drained on a thread of its own, so a chatty process cannot fill one pipe
        // while we wait on the other.
        let outputs = [PipeCollector(out), PipeCollector(err)]
        let status = waitForExit(process, deadline: .now + timeout)
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

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
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
