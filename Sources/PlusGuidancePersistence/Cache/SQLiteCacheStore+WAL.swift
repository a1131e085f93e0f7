import Foundation

extension SQLiteCacheStore {
    /// WAL frames above which ``compactWAL()`` empties the WAL: 1,024 pages, 4 MiB.
    public static let walCompactionFrames = 1_024

    /// Copies the WAL into the database file and truncates it, when it holds more than
    /// ``walCompactionFrames`` frames; does nothing for a read-only store, and gives up after
    /// 200 ms when another process writes or a reader keeps an older snapshot.
    ///
    /// The cache checkpoints only every 8,192 pages (32 MiB) while it is written, which a first
    /// sync needs, closing keeps the WAL (`DatabaseOpener`), and a command's process often
    /// exits before the checkpoint begun beside its writer ends. But the first process to open
    /// the cache after every other has closed it rebuilds SQLite's WAL index by reading and
    /// checksumming the whole WAL: each `pg messages` paid for tens of MiB again (62 MiB after
    /// 1,500 `pg send`s). The engine calls this after each of its operations and when it hands
    /// the engine back, so the next processes start from an empty WAL.
    /// - Returns: whether the WAL was emptied.
    @discardableResult
    public func compactWAL() -> Bool {
        guard let checkpointer else { return false }
        let walPath = checkpointer.path + "-wal"
        guard let size = (try? FileManager.default.attributesOfItem(atPath: walPath))?[.size] as? Int,
            size > 32 + Self.walCompactionFrames * (4_096 + 24)
        else { return false }
        return checkpointer.truncate()
    }
}
