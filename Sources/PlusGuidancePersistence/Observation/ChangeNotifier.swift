import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// Learns of every commit to one SQLite file, by this process or any other, without polling:
/// one per database per process, shared by every observation of it.
///
/// How: every connection this package opens bumps a marker file per table it changed, after the
/// commit (``ChangeMarker``), in a folder beside the database (`cache.sqlite-changes/message`).
/// The notifier watches that folder with inotify, so a commit anywhere reaches it at once,
/// with the names of the tables it changed: an observation that does not read a table is not
/// told. A commit by a program that bumps no markers (the `sqlite3` shell) still changes the
/// `-wal` file, which is watched too: `PRAGMA data_version` on the notifier's own connection
/// then tells whether something was committed, and everyone is told. Where inotify is not
/// available the notifier polls `data_version` once a second instead.
///
/// A thread of its own waits in `poll(2)` without a timeout while nothing happens: an idle
/// process does not wake up for it.
final class ChangeNotifier: @unchecked Sendable {
    // @unchecked: `subscribers`, `nextID` and `stopped` are only touched under `lock`; the rest
    // is immutable after init, or owned by the watching thread.

    /// Tables changed by a commit; `nil` when the notifier cannot tell which (everyone is told).
    typealias Tables = Set<String>?

    let databasePath: String
    /// Whether inotify watches the files (else the once-a-second poll runs).
    let isWatching: Bool
    private let lock = NSLock()
    private var subscribers: [Int: (tables: Set<String>?, notify: @Sendable () -> Void)] = [:]
    private var nextID = 0
    private var stopped = false
    private let inotify: Int32
    private let wake: (read: Int32, write: Int32)
    private let connection: DatabaseQueue
    private var markersWatch: Int32 = -1
    private var folderWatch: Int32 = -1

    /// The poll interval where inotify is not available.
    static let fallbackInterval: Duration = .seconds(1)
    /// How long a `-wal` change without a marker waits for one before everyone is told.
    static let markerGrace: Duration = .milliseconds(20)

    /// Calls `notify` after every commit to `path` that changed one of `tables` (any commit
    /// when `nil`), until the subscription is cancelled or released. The path's notifier is
    /// created on first use and ends with its last subscription. Its `data_version` baseline
    /// was read before this returns, so every commit made after it is told.
    static func subscribe(
        to path: String, tables: Set<String>?, inotify allowed: Bool = true,
        _ notify: @escaping @Sendable () -> Void
    ) throws -> Subscription {
        try registry.withLock { notifiers in
            if let existing = notifiers[path]?.value, let subscription = existing.add(tables, notify) {
                return subscription
            }
            let notifier = try ChangeNotifier(databasePath: path, inotify: allowed)
            notifiers[path] = Weak(value: notifier)
            return notifier.add(tables, notify)!
        }
    }

    /// The running notifier of `path` in this process, if any (``ChangeMarker`` tells it of this
    /// process's commits directly when it cannot watch).
    static func existing(for path: String) -> ChangeNotifier? {
        registry.withLock { $0[path]?.value }
    }

    private struct Weak { weak var value: ChangeNotifier? }
    private final class Registry: @unchecked Sendable {
        // @unchecked: `notifiers` is only touched under `lock`.
        private let lock = NSLock()
        private var notifiers: [String: Weak] = [:]
        func withLock<T>(_ body: (inout [String: Weak]) throws -> T) rethrows -> T {
            try lock.withLock { try body(&notifiers) }
        }
    }
    private static let registry = Registry()

    /// The folder of marker files beside `databasePath`.
    static func markersFolder(of databasePath: String) -> String { databasePath + "-changes" }

    private init(databasePath: String, inotify allowed: Bool) throws {
        self.databasePath = databasePath
        var configuration = Configuration()
        configuration.readonly = true
        connection = try DatabaseQueue(path: databasePath, configuration: configuration)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw DatabaseError(
                resultCode: .SQLITE_CANTOPEN, message: "no pipe for the change notifier (errno \(errno))")
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wake = (fds[0], fds[1])
        let markers = Self.markersFolder(of: databasePath)
        try SecureFiles.makeFolder(markers)
        var watching = false
        let fd = allowed ? inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK)) : -1
        if fd >= 0 {
            let events = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)
            markersWatch = inotify_add_watch(fd, markers, events)
            folderWatch = inotify_add_watch(fd, (databasePath as NSString).deletingLastPathComponent, events)
            watching = markersWatch >= 0 && folderWatch >= 0
            if !watching { close(fd) }
        }
        inotify = watching ? fd : -1
        isWatching = watching
        let baseline = try version()
        // The thread holds the notifier until it stops: the registry's reference is weak and
        // subscriptions hold strong ones, so the last subscription to end stops it.
        let thread = Thread { self.watch(from: baseline) }
        thread.name = "pg-changes"
        thread.start()
    }

    deinit {
        close(wake.read)
        close(wake.write)
        if inotify >= 0 { close(inotify) }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// How many subscribers the notifier of `path` has in this process (for tests).
    static func subscriberCount(for path: String) -> Int {
        guard let notifier = existing(for: path) else { return 0 }
        return notifier.lock.withLock { notifier.stopped ? 0 : notifier.subscribers.count }
    }

    /// Adds a subscriber, or `nil` once the notifier has stopped (its last subscriber left).
    private func add(_ tables: Set<String>?, _ notify: @escaping @Sendable () -> Void) -> Subscription? {
        lock.withLock { () -> Subscription? in
            guard !stopped else { return nil }
            nextID += 1
            subscribers[nextID] = (tables, notify)
            return Subscription(notifier: self, id: nextID)
        }
    }

    /// Ends a subscription when released or cancelled.
    final class Subscription: Sendable {
        private let notifier: ChangeNotifier
        private let id: Int
        init(notifier: ChangeNotifier, id: Int) {
            self.notifier = notifier
            self.id = id
        }
        func cancel() { notifier.unsubscribe(id) }
        deinit { cancel() }
    }

    private func unsubscribe(_ id: Int) {
        let last = lock.withLock { () -> Bool in
            subscribers[id] = nil
            guard subscribers.isEmpty, !stopped else { return false }
            stopped = true
            return true
        }
        if last { stopThread() }
    }

    private func stopThread() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    /// This process committed to `tables`: told directly when the files are not watched.
    func committedHere(_ tables: Set<String>) {
        guard !isWatching else { return }
        tell(tables)
    }

    private func tell(_ tables: Set<String>?) {
        let targets = lock.withLock { subscribers.values.filter { Self.overlaps($0.tables, tables) }.map(\.notify) }
        for notify in targets { notify() }
    }

    private static func overlaps(_ wanted: Set<String>?, _ changed: Set<String>?) -> Bool {
        guard let wanted, let changed else { return true }
        return !wanted.isDisjoint(with: changed)
    }

    private func version() throws -> Int {
        try connection.read { try Int.fetchOne($0, sql: "PRAGMA data_version") ?? 0 }
    }

    // MARK: - The watching thread

    private func watch(from baseline: Int) {
        defer { try? connection.close() }
        var known = baseline
        /// A `-wal` change not yet explained by a marker: when to give up waiting for one.
        var unexplainedSince: ContinuousClock.Instant?
        let walName = (databasePath as NSString).lastPathComponent + "-wal"
        var buffer = [UInt8](repeating: 0, count: 16 * 1_024)
        while !isStopped {
            var timeout: Int32 = -1
            if !isWatching { timeout = Int32(Self.fallbackInterval.components.seconds * 1_000) }
            if let since = unexplainedSince {
                let left = since + Self.markerGrace - .now
                timeout = max(
                    0, Int32(left.components.seconds * 1_000 + left.components.attoseconds / 1_000_000_000_000_000))
            }
            var fds = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            if isWatching { fds.append(pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno != EINTR { break }
            if fds[0].revents != 0 { break }

            var tables = Set<String>()
            var walChanged = false
            if isWatching, fds[1].revents != 0 {
                while true {
                    let count = read(inotify, &buffer, buffer.count)
                    guard count > 0 else { break }
                    for (watch, mask, name) in Self.events(in: buffer.prefix(count)) {
                        if watch == markersWatch {
                            // A bump is a write. A marker's first bump also creates it: that
                            // event, read in a batch of its own, would tell of one commit twice.
                            if mask & UInt32(IN_MODIFY) != 0 { tables.insert(name) }
                        } else if name == walName {
                            walChanged = true
                        }
                    }
                }
            }
            let current: Int
            do {
                current = try version()
            } catch {
                // Busy for a moment (a checkpoint, a recovery under load): the events just read
                // are gone, so tell what the markers said now and look again shortly, instead
                // of waiting for the next event, which may never come.
                if !tables.isEmpty { tell(tables) }
                unexplainedSince = unexplainedSince ?? .now
                continue
            }
            if !tables.isEmpty {
                // Markers are bumped after their commit: `current` includes it.
                known = current
                unexplainedSince = nil
                tell(tables)
            } else if current != known {
                if !isWatching {
                    known = current
                    tell(nil)
                } else if let since = unexplainedSince, since + Self.markerGrace <= .now {
                    // A commit without a marker: a program that does not bump them.
                    known = current
                    unexplainedSince = nil
                    tell(nil)
                } else if unexplainedSince == nil {
                    unexplainedSince = .now
                }
            } else if walChanged, unexplainedSince == nil {
                // The `-wal` changed but the commit is not visible yet: look again shortly.
                unexplainedSince = .now
            } else if let since = unexplainedSince, since + Self.markerGrace <= .now {
                unexplainedSince = nil
            }
        }
    }

    /// The (watch descriptor, event mask, name) of each `inotify_event` in `bytes`.
    private static func events(in bytes: ArraySlice<UInt8>) -> [(Int32, UInt32, String)] {
        var events: [(Int32, UInt32, String)] = []
        var offset = bytes.startIndex
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= bytes.endIndex {
            let event = bytes[offset..<(offset + header)].withUnsafeBytes { $0.loadUnaligned(as: inotify_event.self) }
            let nameStart = offset + header
            let nameEnd = min(bytes.endIndex, nameStart + Int(event.len))
            let name = String(decoding: bytes[nameStart..<nameEnd].prefix { $0 != 0 }, as: UTF8.self)
            events.append((event.wd, event.mask, name))
            offset = nameEnd
        }
        return events
    }
}

/// Bumps a marker file per changed table after each commit of its connection (see
/// ``ChangeNotifier``), and tells this process's notifier directly when it cannot watch.
final class ChangeMarker: TransactionObserver, @unchecked Sendable {
    // @unchecked: GRDB calls a transaction observer on its writer's serial queue only.
    private let databasePath: String
    private let folder: String
    private var changed = Set<String>()
    private var files: [String: Int32] = [:]

    init(databasePath: String) throws {
        self.databasePath = databasePath
        folder = ChangeNotifier.markersFolder(of: databasePath)
        try SecureFiles.makeFolder(folder)
    }

    deinit { for fd in files.values { close(fd) } }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }

    func databaseDidChange(with event: DatabaseEvent) { changed.insert(event.tableName) }

    /// Records a change to `table` that GRDB did not see: rows written by stepping a statement
    /// directly (``CacheRows/MessageUpsert``). Called on the writer's queue, inside the
    /// transaction; its commit bumps the marker, its rollback forgets it.
    func noteChange(in table: String) { changed.insert(table) }

    func databaseDidCommit(_ db: Database) {
        guard !changed.isEmpty else { return }
        let tables = changed
        changed = []
        var byte: UInt8 = 0
        for table in tables {
            let fd = files[table] ?? open(folder + "/" + table, O_WRONLY | O_CREAT | O_CLOEXEC, SecureFiles.fileMode)
            guard fd >= 0 else { continue }
            files[table] = fd
            _ = pwrite(fd, &byte, 1, 0)
        }
        ChangeNotifier.existing(for: databasePath)?.committedHere(tables)
    }

    func databaseDidRollback(_ db: Database) { changed = [] }

    /// Tells every process's observers of `databasePath` that `name` changed though nothing was
    /// committed to the database: a file kept beside it (the engine's published state), which
    /// observers that follow any change (`tables: nil`) then read again.
    static func bump(_ name: String, of databasePath: String) {
        let fd = open(
            ChangeNotifier.markersFolder(of: databasePath) + "/" + name, O_WRONLY | O_CREAT | O_CLOEXEC,
            SecureFiles.fileMode)
        guard fd >= 0 else { return }
        var byte: UInt8 = 0
        _ = pwrite(fd, &byte, 1, 0)
        close(fd)
        ChangeNotifier.existing(for: databasePath)?.committedHere([name])
    }
}
