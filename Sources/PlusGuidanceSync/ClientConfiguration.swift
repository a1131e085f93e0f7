import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidancePersistence

/// How a ``PlusGuidanceClient`` connects and where it keeps its data.
public struct ClientConfiguration: Sendable {
    /// The API's base URL, e.g. `https://api.plusguidance.example`.
    public var serverURL: URL
    /// The profile folder (created 0700). A profile holds **one account at a time**: opening it
    /// restores the account signed in last, and ``PlusGuidanceClient/signIn(email:password:)``
    /// to another account replaces it (the first account's files, undelivered outbox included,
    /// stay in their own subfolder, and signing in to it again returns to them). Give each
    /// account an app follows at once a profile of its own.
    public var profile: String
    public var http = HTTPClientConfiguration()
    public var retry = RetryPolicy()
    /// How long each kind of API call may take in all, retries included.
    public var deadlines = RequestDeadlines()
    /// This machine's calendar clock: timers (backoff, reconnection) and, until the server's
    /// time is first known in this boot, the guess views show.
    public var localClock: any WallClock = SystemWallClock()
    /// The clock the server's time is estimated against: one that no step of the calendar
    /// clock moves (`CLOCK_BOOTTIME`), so countdowns, offer expiry and deadlines hold when NTP
    /// steps the device's clock, a person changes it, or the device sleeps (R12).
    public var elapsedClock: any ElapsedClock = SystemElapsedClock()
    /// How long the live event stream may stay silent (no event, no heartbeat), or a
    /// connection attempt unanswered, before it is taken as dead and opened again. The server
    /// sends a heartbeat every 15 s; the default allows three to go missing.
    public var liveHeartbeatTimeout: TimeInterval = 45
    /// Where the key-encryption key of the profile comes from (it wraps the accounts' data
    /// keys; see `PlusGuidancePersistence.KeySource`). By default: the file `PG_KEY_FILE`
    /// names, else a systemd credential, else `~/.config/plusguidance/key` (created on first
    /// use). An app with a key file of its own passes
    /// `KeySource.provider(keyFile: path)`, or brings its own `KeyProvider` (a keyring, a TPM).
    public var keys: any KeyProvider = KeySource.provider()
    /// Sign out after this long without user activity (a read or a write through the SDK, a
    /// `pg` command on the profile; not the engine's own syncing), keeping the outbox: for
    /// shared devices. `nil` (the default) never signs out by itself.
    public var idleSignOut: Duration?
    /// At most this many outbox entries go out in one request (`POST /v1/batch`) when several
    /// are due; 1 sends each on its own. A server without the batch endpoint (404) gets single
    /// requests whatever this says. Clamped to 1...100.
    public var outboxBatchSize = PlusGuidanceAPI.maximumBatchActions
    /// When the cache's integrity is checked (`PRAGMA quick_check`, every page read): in the
    /// background after opening (the default, for processes that live: apps, daemons), or
    /// `.skipped` by processes that last a moment (`pg` commands other than `sync`).
    public var cacheIntegrityCheck: AccountStorage.IntegrityCheck = .inBackground
    /// `.readOnly` for a process that only reads (see `AccountStorage.Access`): the signed-in
    /// account's files open faster, and what writes to its cache or outbox (sending, answering,
    /// syncing, going live) fails with `storage_failed`. Signing in opens the new account's files
    /// for writing.
    public var access: AccountStorage.Access = .readWrite

    public init(serverURL: URL, profile: String) {
        self.serverURL = serverURL
        self.profile = profile
    }
}

/// What the sync engine is doing, for a status line.
public struct SyncStatus: Hashable, Sendable {
    public enum Phase: Hashable, Sendable {
        case signedOut
        /// Not connected; the reason is a stable code such as `cannot_connect`.
        case offline(reason: String)
        /// Opening the live event stream.
        case connecting
        /// The server answered, but the last sync failed: a stable code such as `server_error`
        /// or `invalid_response` (nothing of a bad answer was applied). The next sync retries.
        case error(reason: String)
        case syncing(SyncProgress)
        /// The event stream is open: changes arrive as they happen.
        case live
        /// Signed in and synced, without a live stream.
        case idle
        /// Another process (e.g. `pg-syncd`) runs the engine for this account and has not
        /// said what it is doing (it is starting, or it stopped publishing). When it has, the
        /// phase is the one it published and ``SyncStatus/engineProcess`` names it.
        case runByAnotherProcess
    }

    public var phase: Phase
    /// When the cache was last known current, on the server's clock: the last successful pull
    /// (by any process of the profile), or, in the process that keeps the account live, the last
    /// event or heartbeat of its stream while nothing was left to store.
    public var lastSuccessfulSync: Date?
    public var pendingOutbox: Int
    public var failedOutbox: Int
    /// How often the live event stream had to be opened again since this client started.
    public var liveReconnects: Int = 0
    /// When the oldest pending outbox entry was queued, if any.
    public var oldestPendingSince: Date?
    /// The process that runs the engine when it is another one (`pg-syncd`): ``phase`` is then
    /// what that process published. `nil` when this process runs it, or nobody does.
    public var engineProcess: Int32?

    /// Whether another process (`pg-syncd`) runs the engine of the account.
    public var isRunByAnotherProcess: Bool { engineProcess != nil || phase == .runByAnotherProcess }

    public var isOnline: Bool {
        switch phase {
        case .live, .idle, .syncing: true
        case .offline, .connecting, .error, .signedOut, .runByAnotherProcess: false
        }
    }
}

/// How far a sync is: feed changes applied to the cache, out of how many.
public struct SyncProgress: Hashable, Sendable {
    /// Changes applied (committed to the cache) so far in this sync.
    public var changesApplied: Int
    /// All the changes of this sync, when the server counted them (it does on the first page);
    /// `nil` when unknown. Changes committed on the server during the sync can make the count
    /// grow.
    public var total: Int?

    public init(changesApplied: Int, total: Int?) {
        self.changesApplied = changesApplied
        self.total = total
    }

    /// The fraction done, from 0 to 1, when the total is known.
    public var fractionCompleted: Double? {
        guard let total else { return nil }
        return total == 0 ? 1 : min(1, Double(changesApplied) / Double(total))
    }

    mutating func record(_ page: ChangePage) {
        changesApplied += page.changes.count
        if let remaining = page.remaining { total = changesApplied + remaining }
        if let known = total, known < changesApplied { total = changesApplied }
    }
}

/// Why a ``PlusGuidanceClient`` call failed when no Domain rule did.
public struct PlusGuidanceClientError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No account is signed in on this profile.
        case notSignedIn = "not_signed_in"
        /// The server cannot be reached and the action needs it now (creating an offer).
        case offline
        /// No outbox entry has this key.
        case unknownOutboxEntry = "unknown_outbox_entry"
        /// The outbox entry cannot be read (a damaged row, `OutboxAction.unreadable(conversation:)`),
        /// so it cannot be sent: only discarded.
        case unreadableOutboxEntry = "unreadable_outbox_entry"
        /// The cache holds nothing from the server yet: a sync must come first.
        case notSynced = "not_synced"
    }

    public let code: Code
    public let reason: String?

    public init(_ code: Code, reason: String? = nil) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason.map { "\(code.rawValue): \($0)" } ?? code.rawValue }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
