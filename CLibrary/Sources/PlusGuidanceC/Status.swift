import CPlusGuidanceSupport
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

/// The statuses of `plusguidance.h`: 0, or a negative code per class of error.
enum Status {
    static let ok: Int32 = 0
    /// Anything else (PG_ERROR).
    static let error: Int32 = -1
    /// Bad usage: a NULL, invalid UTF-8, bad JSON, an unknown id (PG_EINVALID).
    static let invalid: Int32 = -2
    /// Refused by a domain rule (PG_EREFUSED).
    static let refused: Int32 = -3
    /// The server could not be reached (PG_EUNREACHABLE).
    static let unreachable: Int32 = -4
    /// Not signed in, bad credentials, the profile's key missing or wrong (PG_EUNAUTHORIZED).
    static let unauthorized: Int32 = -5
    /// A closed or unknown handle, or a pointer the library did not return (PG_ECLOSED).
    static let closed: Int32 = -6

    static func of(_ kind: ErrorReport.Kind) -> Int32 {
        switch kind {
        case .invalid: invalid
        case .refused: refused
        case .unreachable: unreachable
        case .unauthorized: unauthorized
        case .other: error
        }
    }
}

/// A misuse of the C API itself, with its status.
struct MisuseError: Error {
    var status: Int32
    var code: String
    var line: String

    static func invalid(_ line: String, code: String = "invalid_argument") -> MisuseError {
        MisuseError(status: Status.invalid, code: code, line: line)
    }
    static let closed = MisuseError(
        status: Status.closed, code: "closed_handle", line: "the handle is closed, or not one this library returned")
}

/// The status, stable code and one line for `error`.
func describe(_ error: any Error) -> (status: Int32, code: String, line: String) {
    if let misuse = error as? MisuseError { return (misuse.status, misuse.code, misuse.line) }
    let report = ErrorReport(error)
    return (Status.of(report.kind), report.code, report.line)
}

/// The status for `error`, recorded as the calling thread's last error.
func fail(_ error: any Error) -> Int32 {
    let (status, code, line) = describe(error)
    pgc_set_error(status, code, line)
    return status
}

/// Runs an entry point's body: 0, or its failure's status with the thread's last error set.
func entry(_ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return Status.ok
    } catch {
        return fail(error)
    }
}

/// Where a blocking call's answer lands: written once by its task, read after it finished.
private final class Completion<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// Runs `body` and blocks the calling thread (the app's, never one of the pool's) until it
/// ends, running the task's jobs on that thread meanwhile (``CallerThreadExecutor``).
func blocking<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let completion = Completion<T>()
    let executor = CallerThreadExecutor()
    Task(executorPreference: executor) {
        do {
            completion.result = .success(try await body())
        } catch {
            completion.result = .failure(error)
        }
        executor.finish()
    }
    executor.run()
    guard let result = completion.result else {
        throw MisuseError(status: Status.error, code: "internal", line: "no answer")
    }
    return try result.get()
}

/// Runs the jobs of one blocking call on the thread that made it, while it waits: the call's
/// task, and the actors it visits without an executor of their own, run there instead of
/// waking a thread of the concurrency pool and then the caller again (SE-0417 task executor
/// preference). Work a job hands to a queue of its own (SQLite's, libcurl's) comes back here.
final class CallerThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` and `finished` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// Runs jobs as they come until ``finish()``.
    func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            let ready = jobs
            jobs.removeAll(keepingCapacity: true)
            let done = finished && ready.isEmpty
            condition.unlock()
            if done { return }
            for job in ready { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
