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
@discardableResult
public func waitForExit(_ process: Process) -> Int32 {
    let pid = process.processIdentifier
    while process.isRunning {
        var info = siginfo_t()
        if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid {
            let status = info._sifields._sigchld.si_status
            return info.si_code == Int32(CLD_EXITED) ? status : 128 + status
        }
        usleep(2_000)
    }
    return process.terminationStatus
}

/// The outcome of a finished process.
public struct ProcessOutcome: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` with `arguments` to completion, feeding `stdin`, without blocking a
/// cooperative thread.
public func runProcess(_ executable: String, _ arguments: [String], stdin: String? = nil) async throws -> ProcessOutcome
{
    try await onDedicatedThread {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read stderr on another thread so a chatty process cannot fill one pipe while we wait on the other.
        let errors = ErrorCollector()
        let reader = Thread { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let status = waitForExit(process)
        while !errors.done { usleep(1_000) }
        return ProcessOutcome(
            status: status, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: errors.data, as: UTF8.self))
    }
}

private final class ErrorCollector: @unchecked Sendable {
    // @unchecked: `data` is written once by the reader thread before `done` is set under `lock`.
    private let lock = NSLock()
    private var storage = Data()
    private var finished = false
    var data: Data {
        get { lock.withLock { storage } }
        set {
            lock.withLock {
                storage = newValue; finished = true
            }
        }
    }
    var done: Bool { lock.withLock { finished } }
}
