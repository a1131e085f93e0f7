import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidancePersistence

extension PlusGuidanceClient {
    /// Delivers the outbox (entries waiting for a retry time included) and pulls the feed to
    /// the end, now. Another process running the
    /// engine (``SyncStatus/Phase/runByAnotherProcess``) makes this a no-op.
    /// - Throws: `PlusGuidanceAPIError` `unreachable` when the server cannot be reached
    ///   (everything stays queued); `signed_out` when the tokens were refused and could not be
    ///   refreshed: the client is then signed out, with its cache and outbox kept for the next
    ///   sign-in to the same account.
    /// - Parameter progress: called after each feed page with the changes applied so far in this
    ///   sync and, when the server counted them, the total.
    public func syncNow(progress: (@Sendable (SyncProgress) -> Void)? = nil) async throws {
        let account = try signedInForEngine()
        do {
            let ran: Void? = try await withEngine(account) {
                try await signingOutOnRefusal(account) {
                    try await account.sender.deliver(ignoringBackoff: true)
                    try await pull(account, progress: progress)
                }
            }
            guard ran != nil else { return }
            if case .live = phase {} else { phase = .idle }
        } catch let error as PlusGuidanceAPIError where error == .unreachableCode {
            phase = .offline(reason: error.offlineReason)
            throw error
        } catch let error as PlusGuidanceAPIError where error != .signedOut {
            if case .live = phase {} else { phase = .error(reason: error.problemCode ?? error.code) }
            throw error
        }
    }

    /// Pulls the feed, showing its progress in the phase.
    func pull(_ account: SignedInAccount, progress: (@Sendable (SyncProgress) -> Void)? = nil) async throws {
        try await account.puller.pull { [weak self] done in
            await self?.setSyncing(done, of: account)
            progress?(done)
        }
    }

    private func setSyncing(_ progress: SyncProgress, of syncing: SignedInAccount) {
        guard account === syncing else { return }
        phase = .syncing(progress)
    }

    /// Delivers now when this process runs (or can take) the engine.
    func deliverIfEngine(_ account: SignedInAccount) async throws {
        do {
            _ = try await withEngine(account) {
                try await signingOutOnRefusal(account) { try await account.sender.deliver() }
            }
        } catch let error as PlusGuidanceAPIError where error == .unreachableCode {
            if case .live = phase {} else { phase = .offline(reason: error.offlineReason) }
            throw error
        }
    }

    // MARK: Live

    /// Keeps the cache current through the event stream (R7) and the user online (R2) until
    /// ``stopLive()``: reconnects with backoff after the last event id, detects a dead stream by
    /// missed heartbeats, and catches up from the feed after every (re)connection. While live,
    /// the outbox sender delivers what this process or another queues as soon as it is queued.
    ///
    /// It returns once the connection is being opened, **not once it is live**: the phase goes
    /// `.connecting`, then `.live` (``observeStatus()`` tells when; a client is online for the
    /// therapist, R1, from then on). Offline it keeps trying in the background.
    ///
    /// When another process holds the engine (a `pg` command's sync or status probe, or another
    /// daemon), it goes live as soon as that process lets go: it tries again every second until
    /// it gets the engine or ``stopLive()`` is called.
    public func startLive() async throws {
        let account = try signedInForEngine()
        guard liveTasks.isEmpty else { return }
        guard await takeEngine(account) else {
            // A daemon started while a command synced gave up here and never went live.
            liveTasks = [Task { [weak self] in await self?.goLiveOnceTheEngineIsFree(account) }]
            return
        }
        try await goLive(account)
    }

    /// How often ``startLive()`` tries again for an engine another process holds.
    static let liveEngineRetry: TimeInterval = 1

    private func goLiveOnceTheEngineIsFree(_ waiting: SignedInAccount) async {
        let clock = configuration.localClock
        while !Task.isCancelled {
            do { try await clock.sleep(until: clock.now() + Self.liveEngineRetry) } catch { return }
            guard !Task.isCancelled, account === waiting else { return }
            // This task stays in `liveTasks` until goLive replaces it, so a second startLive()
            // meanwhile starts nothing, and stopLive() cancels it.
            if await takeEngine(waiting) {
                try? await goLive(waiting)
                return
            }
        }
    }

    /// Starts the live session and the outbox sender; the engine is this process's.
    private func goLive(_ account: SignedInAccount) async throws {
        let session = LiveSession(
            transport: account.api, clock: configuration.localClock,
            heartbeatTimeout: configuration.liveHeartbeatTimeout,
            cursor: try await account.cache.syncState().cursor,
            hooks: LiveSession.Hooks(
                connecting: { [weak self] in await self?.liveConnecting(account) },
                disconnected: { [weak self] in await self?.liveLost(account) },
                catchUp: { [weak self] in await self?.catchUp(account) ?? true },
                event: { [weak self] event in await self?.apply(event, to: account) }))
        // Stopped (or signed out) while the cursor was read: stay stopped.
        guard !Task.isCancelled, self.account === account else { return }
        liveTasks = [
            Task { await session.run() },
            Task { await account.sender.run(answered: { session.serverReachable() }) },
        ]
    }

    public func stopLive() {
        for task in liveTasks { task.cancel() }
        liveTasks = []
        staleCacheRecovery?.cancel()
        staleCacheRecovery = nil
        lastLiveSign = nil
        if case .live = phase { phase = .idle }
    }

    private func liveConnecting(_ live: SignedInAccount) {
        guard account === live, !liveTasks.isEmpty else { return }
        liveConnects += 1
        phase = .connecting
    }

    private func liveLost(_ live: SignedInAccount) {
        guard account === live, !liveTasks.isEmpty else { return }
        phase = .offline(reason: "event_stream_lost")
    }

    /// After the stream (re)opened: what was queued goes out, what changed while not connected
    /// comes in. A refusal of the tokens signs out (which stops the live tasks). Returns whether
    /// it got through; the live session tries a failed one again while the stream stays open.
    private func catchUp(_ live: SignedInAccount) async -> Bool {
        guard account === live, !liveTasks.isEmpty else { return true }
        phase = .live
        var succeeded = true
        do {
            try await signingOutOnRefusal(live) {
                try await live.sender.deliver()
                try await pull(live)
            }
        } catch {
            succeeded = false
            if PersistenceError.storageFailure(error) != nil { cacheWriteFailed(live) }
        }
        if succeeded, staleCacheRecovery != nil {
            staleCacheRecovery?.cancel()
            staleCacheRecovery = nil
        }
        if !Task.isCancelled, account === live, !liveTasks.isEmpty, staleCacheRecovery == nil { phase = .live }
        return succeeded
    }

    private func apply(_ event: LiveEvent, to live: SignedInAccount) async {
        switch event {
        case .change(let change, _):
            do { try await live.cache.merge([change]) } catch { cacheWriteFailed(live) }
        case .presence(let user, let online):
            do {
                try await live.cache.updatePresence([
                    Presence(userID: user, isOnline: online, lastSeenAt: await serverNow())
                ])
            } catch {
                cacheWriteFailed(live)
            }
        case .heartbeat: break
        case .time(let now):
            // The server's clock, told outright (the stream opened, or the server's clock was
            // stepped): the profile's other processes (a `pg watch` beside `pg-syncd` schedules
            // reminders on it) read it from the cache at once.
            await live.api.recordServerTime(now)
            await live.serverTime.share()
        }
        // Whatever the stream said, the cache was current when it said it (unless stale).
        if staleCacheRecovery == nil, account === live { lastLiveSign = await serverNow() }
    }

    // MARK: A live change the cache could not store

    /// How often a stale cache is pulled again while the disk refuses writes.
    static let staleCacheRetry: TimeInterval = 1

    /// A live change could not be stored (a full disk, a failing file): the stream has moved
    /// past it, so the cache is stale until a pull brings it back. The phase says so
    /// (`error(storage_failed)`: `pg status`, `/healthz`, `pg_live 0`), and a pull is tried every
    /// ``staleCacheRetry`` until the disk takes writes again; the feed's cursor, which only a
    /// stored page moves, makes that pull bring every change missed meanwhile.
    func cacheWriteFailed(_ live: SignedInAccount) {
        guard account === live, !liveTasks.isEmpty else { return }
        phase = .error(reason: PersistenceError.storageFailedCode.code)
        guard staleCacheRecovery == nil else { return }
        let clock = configuration.localClock
        staleCacheRecovery = Task { [weak self] in
            while !Task.isCancelled {
                do { try await clock.sleep(until: clock.now() + Self.staleCacheRetry) } catch { return }
                guard let self, await self.pullStaleCache(live) else { continue }
                return
            }
        }
    }

    /// One try at bringing a stale cache up to date; whether the cache is current (or the
    /// account no longer live here).
    private func pullStaleCache(_ live: SignedInAccount) async -> Bool {
        guard account === live, !liveTasks.isEmpty else { return true }
        do { try await pull(live) } catch { return false }
        staleCacheRecovery = nil
        if account === live, !liveTasks.isEmpty { phase = .live }
        return true
    }
}
