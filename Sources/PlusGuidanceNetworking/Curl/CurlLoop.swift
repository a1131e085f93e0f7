internal import CCurl
internal import CCurlLoader
import Foundation
import Synchronization

/// The one owner of a libcurl multi handle: a dedicated thread that runs the transfers, and a
/// command queue through which other threads start, cancel and resume them.
///
/// Threading: libcurl handles are not thread-safe, so the multi handle, the share handle, every
/// easy handle and every `Transfer`'s mutable state are touched only by this thread. Other
/// threads only append to `commands` and call `curl_multi_wakeup`, which is documented as safe
/// from any thread; the lock around both makes sure no wakeup reaches a multi handle that the
/// loop already cleaned up.
final class CurlLoop: @unchecked Sendable {
    // @unchecked: `multi`, `share`, `active` and `idleHandles` are confined to the loop thread
    // (see above); `queue` is only touched under `queueLock`, a pthread mutex (NSLock) rather
    // than Synchronization.Mutex so that ThreadSanitizer sees the hand-off of each Transfer.
    /// The longest the loop sleeps when libcurl has no timer due (milliseconds); commands wake
    /// it at once.
    static let idleWait = 60_000

    enum Command {
        case start(Transfer)
        case cancel(UInt64)
        case resume(UInt64)
        /// Runs its closure once every command before it was handled.
        case barrier(@Sendable () -> Void)
        case shutdown
    }

    private struct Queue {
        var commands: [Command] = []
        var closed = false
    }

    private let queueLock = NSLock()
    private var queue = Queue()
    private let multi: UnsafeMutableRawPointer
    private let share: UnsafeMutableRawPointer
    private var active: [UInt64: Transfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []
    private let poolSize: Int
    private let nextID = Atomic<UInt64>(1)

    /// Opens libcurl and initialises it, once per process: `nil` when usable, otherwise why not.
    static let globalInit: String? = {
        var error = [CChar](repeating: 0, count: 256)
        guard pg_curl_load(&error, error.count) != 0 else {
            return String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        // curl_global_init is thread-safe from libcurl 7.84 when built "threadsafe" (Debian's
        // is), and called once here anyway.
        _ = pg_curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        return nil
    }()

    /// A loop with its thread running, libcurl loaded first.
    /// - Throws: ``HTTPClientError/libcurlUnavailable`` when libcurl cannot be loaded.
    static func start(poolSize: Int, connectionsPerHost: Int) throws -> CurlLoop {
        if let problem = globalInit { throw HTTPClientError.libcurlUnavailable.with(host: nil, reason: problem) }
        return CurlLoop(poolSize: poolSize, connectionsPerHost: connectionsPerHost)
    }

    private init(poolSize: Int, connectionsPerHost: Int) {
        multi = pg_curl_multi_init()!
        share = pg_curl_share_init()!
        self.poolSize = poolSize
        // One DNS cache and one TLS session cache for every transfer (the connection cache is
        // the multi handle's own). No lock callbacks: only the loop thread uses them.
        _ = pg_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue))
        _ = pg_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue))
        _ = pg_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 64)
        // Beyond this many connections to one host, libcurl queues transfers instead of
        // opening more sockets (with HTTP/2 they share connections anyway).
        _ = pg_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, connectionsPerHost)
        let thread = Thread { [self] in run() }
        thread.name = "PlusGuidanceKit.curl"
        thread.start()
    }

    func makeID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// Queues a command for the loop thread. Returns `false` once the loop has shut down.
    @discardableResult
    func submit(_ command: Command) -> Bool {
        queueLock.withLock {
            guard !queue.closed else { return false }
            queue.commands.append(command)
            pg_curl_multi_wakeup(multi)
            return true
        }
    }

    private func run() {
        var running = true
        while running {
            let commands = queueLock.withLock {
                defer { queue.commands.removeAll(keepingCapacity: true) }
                return queue.commands
            }
            for command in commands {
                switch command {
                case .start(let transfer): start(transfer)
                case .cancel(let id): finish(id, with: .failure(.cancelled))
                case .resume(let id):
                    if let easy = active[id]?.easy { pg_curl_easy_pause(easy, pg_pause_cont()) }
                case .barrier(let done): done()
                case .shutdown: running = false
                }
            }
            guard running else { break }
            var stillRunning: Int32 = 0
            pg_curl_multi_perform(multi, &stillRunning)
            var remaining: Int32 = 0
            while let message = pg_curl_multi_info_read(multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                var pointer: UnsafeMutableRawPointer?
                _ = pg_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &pointer)
                guard let pointer else { continue }
                let transfer = Unmanaged<Transfer>.fromOpaque(pointer).takeUnretainedValue()
                finish(transfer.id, with: outcome(of: transfer, code: pg_multi_message_result(message)))
            }
            // Sleep until a socket is ready, libcurl's next timer is due, or a command arrives
            // (`curl_multi_wakeup`): an idle client does not wake up for this loop.
            var due = -1
            pg_curl_multi_timeout(multi, &due)
            pg_curl_multi_poll(multi, nil, 0, Int32(due < 0 ? Self.idleWait : min(due, Self.idleWait)), nil)
        }
        shutdown()
    }

    private func start(_ transfer: Transfer) {
        guard !transfer.cancelRequested.load(ordering: .acquiring) else {
            transfer.complete(.failure(.cancelled))
            return
        }
        let easy = idleHandles.popLast() ?? pg_curl_easy_init()!
        transfer.easy = easy
        do {
            try CurlOptions.apply(to: easy, transfer: transfer, share: share)
        } catch {
            recycle(easy)
            transfer.easy = nil
            transfer.complete(.failure(error))
            return
        }
        active[transfer.id] = transfer
        _ = Unmanaged.passRetained(transfer)  // released in finish(_:with:)
        pg_curl_multi_add_handle(multi, easy)
    }

    private func finish(_ id: UInt64, with result: Result<HTTPTimings?, HTTPClientError>) {
        guard let transfer = active.removeValue(forKey: id), let easy = transfer.easy else { return }
        pg_curl_multi_remove_handle(multi, easy)
        transfer.complete(result)
        transfer.easy = nil
        recycle(easy)
        Unmanaged.passUnretained(transfer).release()
    }

    private func recycle(_ easy: UnsafeMutableRawPointer) {
        if idleHandles.count < poolSize {
            pg_curl_easy_reset(easy)
            idleHandles.append(easy)
        } else {
            pg_curl_easy_cleanup(easy)
        }
    }

    private func outcome(of transfer: Transfer, code: CURLcode) -> Result<HTTPTimings?, HTTPClientError> {
        if let failure = transfer.localFailure { return .failure(failure.with(host: transfer.host, reason: nil)) }
        guard code == CURLE_OK else {
            let reason = String(cString: transfer.errorBuffer)
            return .failure(
                CurlErrors.map(code, connected: connectTime(transfer) > 0).with(
                    host: transfer.host, reason: reason.isEmpty ? String(cString: pg_curl_easy_strerror(code)) : reason)
            )
        }
        return .success(timings(transfer))
    }

    private func connectTime(_ transfer: Transfer) -> Int64 {
        var value: curl_off_t = 0
        if let easy = transfer.easy { _ = pg_easy_getinfo_off_t(easy, CURLINFO_CONNECT_TIME_T, &value) }
        return Int64(value)
    }

    private func timings(_ transfer: Transfer) -> HTTPTimings? {
        guard let easy = transfer.easy else { return nil }
        func read(_ info: CURLINFO) -> Duration {
            var microseconds: curl_off_t = 0
            _ = pg_easy_getinfo_off_t(easy, info, &microseconds)
            return .microseconds(Int64(microseconds))
        }
        return HTTPTimings(
            nameLookup: read(CURLINFO_NAMELOOKUP_TIME_T), connect: read(CURLINFO_CONNECT_TIME_T),
            tlsHandshake: read(CURLINFO_APPCONNECT_TIME_T), firstByte: read(CURLINFO_STARTTRANSFER_TIME_T),
            total: read(CURLINFO_TOTAL_TIME_T))
    }

    private func shutdown() {
        queueLock.withLock { queue.closed = true }
        for id in Array(active.keys) { finish(id, with: .failure(.shutdown)) }
        // Commands that arrived after the last drain: fail their transfers too.
        let late = queueLock.withLock {
            defer { queue.commands = [] }
            return queue.commands
        }
        for case .start(let transfer) in late { transfer.complete(.failure(.shutdown)) }
        for easy in idleHandles { pg_curl_easy_cleanup(easy) }
        idleHandles = []
        pg_curl_multi_cleanup(multi)
        pg_curl_share_cleanup(share)
    }
}
