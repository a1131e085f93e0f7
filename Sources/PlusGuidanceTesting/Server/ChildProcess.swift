import CSpawn
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A process the tests start: spawned with `posix_spawn(3)`, waited for with `waitpid(2)`.
///
/// Tests use it instead of Foundation's `Process`, which on Linux was seen to crash the whole
/// test process (`Bad pointer dereference` in `memmove` inside `Process.run()`) when suites
/// started processes from many threads at once, and which learns of an exit through a socket
/// the child inherits, so that it misses the exit while a grandchild lives
/// (swift-corelibs-foundation#4795). Here the child inherits only its three standard streams
/// (every other descriptor is closed in it), starts with default signal handling and an empty
/// signal mask, and its exit is asked of the kernel.
///
/// ```swift
/// let daemon = try ChildProcess(pgSyncd, ["--profile", profile], stderr: .pipe)
/// daemon.signal(SIGTERM)
/// #expect(await daemon.exitStatus(within: .seconds(60)) == 0)
/// ```
///
/// A child still running when this object goes away is killed and reaped, so that a failing
/// test leaves no daemon behind.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `reaped` is only touched under `lock`; the rest is immutable.

    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// This process's own stream.
        case inherit
        /// `/dev/null`.
        case null
        /// A pipe whose other end is ``standardInput``, ``standardOutput`` or ``standardError``.
        case pipe
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var executable: String
        public var code: Int32
        public var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }

    public let processIdentifier: pid_t
    /// The write end of the child's stdin, when it is a ``Stream/pipe``.
    public let standardInput: FileHandle?
    /// The read end of the child's stdout, when it is a ``Stream/pipe``.
    public let standardOutput: FileHandle?
    /// The read end of the child's stderr, when it is a ``Stream/pipe``.
    public let standardError: FileHandle?

    private let lock = NSLock()
    private var reaped: Int32?

    /// Writing to the stdin of a child that has exited fails with EPIPE instead of killing the
    /// test process with SIGPIPE.
    private static let pipesNeverKillThisProcess: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    /// Starts `executable` (a path) with `arguments`.
    /// - Parameter environment: set over this process's environment; an empty value removes the
    ///   variable.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: Stream = .null,
        stdout: Stream = .null, stderr: Stream = .null
    ) throws {
        _ = Self.pipesNeverKillThisProcess
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32?] = [nil, nil, nil]
        var childEnds: [Int32] = []
        defer { for end in childEnds { close(end) } }
        for (slot, stream) in [stdin, stdout, stderr].enumerated() {
            switch stream {
            case .inherit:
                break
            case .null:
                posix_spawn_file_actions_addopen(&actions, Int32(slot), "/dev/null", O_RDWR, 0)
            case .pipe:
                var ends: [Int32] = [-1, -1]
                guard cspawn_pipe_cloexec(&ends) == 0 else {
                    let code = errno
                    for case let end? in parentEnds { close(end) }
                    throw SpawnError(executable: executable, code: code)
                }
                let (child, parent) = slot == 0 ? (ends[0], ends[1]) : (ends[1], ends[0])
                childEnds.append(child)
                parentEnds[slot] = parent
                posix_spawn_file_actions_adddup2(&actions, child, Int32(slot))
            }
        }
        // Whatever else is open here (other tests' pipes and sockets) stays out of the child.
        cspawn_addclosefrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var everySignal = sigset_t()
        sigfillset(&everySignal)
        sigdelset(&everySignal, SIGKILL)
        sigdelset(&everySignal, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        // SIGPIPE and others this process ignores would stay ignored through exec.
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environmentEntries = mergedEnvironment(environment).map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environmentEntries.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            for case let end? in parentEnds { close(end) }
            throw SpawnError(executable: executable, code: result)
        }
        processIdentifier = pid
        let handles = parentEnds.map { $0.map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) } }
        standardInput = handles[0]
        standardOutput = handles[1]
        standardError = handles[2]
    }

    deinit {
        if lock.withLock({ reaped == nil }) {
            kill(processIdentifier, SIGKILL)
            var status: Int32 = 0
            while waitpid(processIdentifier, &status, 0) == -1 && errno == EINTR {}
        }
    }

    /// Whether the child has not exited yet.
    public var isRunning: Bool { poll() == nil }

    /// Sends `signal` unless the child has already been reaped (its pid may be someone else's).
    public func signal(_ signal: Int32) {
        lock.withLock {
            if reaped == nil { _ = kill(processIdentifier, signal) }
        }
    }

    /// Closes the write end of the child's stdin (EOF for the child).
    public func closeStandardInput() {
        try? standardInput?.close()
    }

    /// Waits for the exit and returns its status: the exit code, or 128 + the signal. With a
    /// `deadline`, a child still running then is sent SIGKILL (and 137 returned).
    ///
    /// Blocks: call it from a thread of its own (``onDedicatedThread(_:)``), or use
    /// ``exitStatus(within:)``.
    @discardableResult
    public func wait(deadline: ContinuousClock.Instant? = nil) -> Int32 {
        while true {
            if let status = poll() { return status }
            if let deadline, ContinuousClock.now >= deadline {
                signal(SIGKILL)
                return wait()
            }
            usleep(2_000)
        }
    }

    /// Waits, without blocking a cooperative thread, at most `limit` for the exit (see
    /// ``wait(deadline:)``).
    @discardableResult
    public func exitStatus(within limit: Duration) async -> Int32 {
        let deadline = ContinuousClock.now + limit
        return (try? await onDedicatedThread { self.wait(deadline: deadline) }) ?? 137
    }

    /// The exit status if the child has exited (reaping it), else `nil`.
    private func poll() -> Int32? {
        lock.withLock {
            if let reaped { return reaped }
            var status: Int32 = 0
            let result = waitpid(processIdentifier, &status, WNOHANG)
            if result == -1 && errno == ECHILD {
                // Reaped elsewhere: the status is lost.
                reaped = 255
                return reaped
            }
            guard result == processIdentifier else { return nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (macros).
            let signal = status & 0x7f
            reaped = signal == 0 ? (status >> 8) & 0xff : 128 + signal
            return reaped
        }
    }
}
