import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

#if canImport(Glibc)
    import Glibc
#endif

extension AccountStorage {
    /// Publishes what the engine of this process is doing (a small record the sync layer
    /// encodes), for the other processes of the profile: `pg status` beside `pg-syncd` reports
    /// the daemon's connection rather than guessing. Only the engine lock's holder writes it;
    /// `nil` removes it. Replaced atomically, never synced: after a crash the lock is free and
    /// nobody reads it.
    public func publishEngineState(_ record: Data?) {
        let path = folder + "/engine.state"
        if let record {
            do {
                try SecureFiles.writeAtomically(record, to: path, durably: false)
            } catch {
                // A full disk has no room for the new file, but the old one's block is there:
                // rewritten in place, a reader may see a torn record for a moment (it decodes as
                // none), never a stale phase for good (a stale cache would read as live).
                let fd = open(path, O_WRONLY | O_CLOEXEC)
                if fd >= 0 {
                    _ = record.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                    _ = ftruncate(fd, off_t(record.count))
                    close(fd)
                }
            }
        } else {
            unlink(path)
        }
        // The other processes' status observations hear of it as of a commit to the cache.
        ChangeMarker.bump("engineState", of: cachePath)
    }

    /// The record the engine lock's holder last published; `nil` when there is none.
    public func engineState() -> Data? { FileManager.default.contents(atPath: folder + "/engine.state") }
}
