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
    public init(path: String) throws {
        self.path = path
        try SecureFiles.makeFile(path)
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw PersistenceError.insecurePermissions(path: path, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw PersistenceError.engineLocked(path: path)
        }
        descriptor = fd
    }

    deinit { close(descriptor) }
}
