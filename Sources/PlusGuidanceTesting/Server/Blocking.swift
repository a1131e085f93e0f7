import Foundation

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
        process.waitUntilExit()
        while !errors.done { usleep(1_000) }
        return ProcessOutcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
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
