import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The advisory lock that lets at most one process run the sync engine of an account.
///
/// An exclusive `flock(2)` on the account's `engine.lock` file: the kernel releases it when the
/// holder closes it or dies, even by `kill -9`, so a crashed daemon never leaves the account
/// locked. Other processes (a `pg` command next to `pg-syncd`) still read the cache and enqueue
/// into the outbox; only the engine is exclusive.
public final class EngineLock: Sendable {
    /// The lock file.
    public let path: String
    // The descriptor is written once in init and only read by release(), which may run once.
    private let descriptor: Int32

    /// Takes the lock without waiting.
    /// - Throws: ``PersistenceError/engineLocked(path:)`` when another process (or another
    ///   `EngineLock` in this one) holds it.
    public convenience init(path: String) throws { try self.init(path: path, blocking: false) }

    private init(path: String, blocking: Bool) throws {
        self.path = path
        try SecureFiles.makeFile(path)
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw PersistenceError.fileAccess(path: path, errno: errno) }
        var result: Int32
        repeat {
            result = flock(fd, blocking ? LOCK_EX : LOCK_EX | LOCK_NB)
        } while result != 0 && errno == EINTR && blocking
        guard result == 0 else {
            close(fd)
            throw PersistenceError.engineLocked(path: path)
        }
        descriptor = fd
    }

    /// Takes the lock, waiting on this thread while another process holds it: for locks held
    /// only for moments (opening a database).
    static func blocking(path: String) throws -> EngineLock { try EngineLock(path: path, blocking: true) }

    /// Takes the lock, waiting while another process holds it. The wait blocks a thread of its
    /// own, never one of Swift's cooperative pool.
    public static func waiting(path: String) async throws -> EngineLock {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try EngineLock(path: path, blocking: true) })
            }
        }
    }

    deinit { close(descriptor) }
}
