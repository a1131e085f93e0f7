import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

extension PlusGuidanceClient {
    // MARK: Observing (every read as an async sequence)

    /// ``contacts()`` now and each time it changes (a sync, a live presence event, a message or
    /// read receipt moving an unread count), until the account signs out.
    public func observeContacts() async throws -> AsyncThrowingStream<[Contact], any Error> {
        let account = try signedIn()
        return try await observe(account, [account.cache.changes(), account.outbox.changes()]) {
            try await Self.contacts(of: account)
        }
    }

    /// ``unreadCount()`` now and each time it changes.
    public func observeUnreadCount() async throws -> AsyncThrowingStream<Int, any Error> {
        let account = try signedIn()
        return try await observe(account, [account.cache.changes(), account.outbox.changes()]) {
            try await Self.contacts(of: account).reduce(0) { $0 + $1.unread }
        }
    }

    /// ``messages(with:limit:)`` now and each time the cache or the outbox changes, whoever
    /// changed them (a `pg send` in another process shows up here as pending, then sent).
    public func observeMessages(
        with peer: UserID, limit: Int = 50
    ) async throws -> AsyncThrowingStream<[Message], any Error> {
        let account = try signedIn()
        let conversation = CareRelation(user: account.user, peer: peer).conversationID
        return try await observe(
            account,
            [
                account.cache.changes(),
                account.outbox.changes(),
            ]
        ) { try await Self.messages(in: conversation, limit: limit, account: account) }
    }

    /// ``offers()`` now and each time they change.
    public func observeOffers() async throws -> AsyncThrowingStream<[SessionOffer], any Error> {
        let account = try signedIn()
        return try await observe(account, [account.cache.changes()]) {
            try await account.cache.offers()
        }
    }

    /// ``upcomingSessions()`` now and each time they change: a session created or confirmed
    /// appears without any refresh while live (R7).
    public func observeUpcomingSessions() async throws -> AsyncThrowingStream<[Session], any Error> {
        let account = try signedIn()
        return try await observe(account, [account.cache.changes()]) {
            try await account.cache.upcomingSessions(at: account.serverTime.now())
        }
    }

    /// ``session(_:)`` now and each time it changes (`nil` while not cached).
    public func observeSession(_ id: SessionID) async throws -> AsyncThrowingStream<Session?, any Error> {
        let account = try signedIn()
        return try await observe(account, [account.cache.changes()]) {
            try await account.cache.session(id)
        }
    }

    /// The session's ``countdown(for:)`` every `interval` (R6) on the server's clock, and at
    /// once when the session changes (stopped by the therapist). Starts once the session is in
    /// the cache (a session just created arrives with the next change).
    public func observeCountdown(
        of id: SessionID, every interval: Duration = .seconds(1)
    ) async throws
        -> AsyncThrowingStream<SessionCountdown, any Error>
    {
        let account = try signedIn()
        let ticks = AsyncThrowingStream<Void, any Error> { continuation in
            let task = Task {
                while !Task.isCancelled {
                    continuation.yield()
                    try? await Task.sleep(for: interval)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return try await observe(account, [account.cache.changes(), ticks]) {
            guard let session = try await account.cache.session(id) else { return nil }
            return session.countdown(at: await self.serverNow())
        }
    }

    /// `outbox()` now and each time it changes, including entries other processes queue.
    public func observeOutbox() async throws -> AsyncThrowingStream<[OutboxEntry], any Error> {
        let account = try signedIn()
        return try await observe(account, [account.outbox.changes()]) {
            try await account.outbox.entries()
        }
    }

    /// ``currentUser`` now and each time an account signs in or out (`nil` when signed out).
    public nonisolated func observeCurrentUser() async throws -> AsyncThrowingStream<User?, any Error> {
        try await DerivedObservation.start(triggers: [accountChanged.changes()]) {
            .some(await self.currentUser)
        }
    }

    /// ``status()`` now and each time it changes: the phase (connecting, syncing with its
    /// progress, live, offline with its reason, signed out), the last successful sync (also one
    /// made by another process on the profile) and the outbox counts. Unlike the other
    /// observations it goes on across sign-out and sign-in.
    public nonisolated func observeStatus() async throws -> AsyncThrowingStream<SyncStatus, any Error> {
        try await DerivedObservation.start(
            triggers: [phaseChanged.changes(), accountChanged.changes(), await accountStorageTriggers()]
        ) { try await self.status() }
    }

    /// Ticks on commits to the signed-in account's outbox and cache, following sign-in and
    /// sign-out. The signed-in account's stores are subscribed before this returns; after a
    /// sign-in, the new account's are subscribed and then a tick says so (a commit made in
    /// between is in the fetch that tick causes).
    private func accountStorageTriggers() -> AsyncThrowingStream<Void, any Error> {
        let accountChanges = accountChanged.stream()
        let current = account.map { ($0, [$0.outbox.changes(), $0.cache.changes()]) }
        return AsyncThrowingStream { continuation in
            let task = Task {
                var changes = accountChanges.makeAsyncIterator()
                var subscribed = current
                while !Task.isCancelled {
                    if let (account, triggers) = subscribed {
                        subscribed = nil
                        continuation.yield()
                        await withTaskGroup(of: Void.self) { group in
                            for trigger in triggers {
                                group.addTask {
                                    do { for try await _ in trigger { continuation.yield() } } catch {}
                                }
                            }
                            group.addTask { for await _ in account.ended.stream() {} }
                            await group.next()
                            group.cancelAll()
                        }
                    } else if let account = self.account {
                        subscribed = (account, [account.outbox.changes(), account.cache.changes()])
                    } else if await changes.next() == nil {
                        return
                    }
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    func observe<T: Equatable & Sendable>(
        _ account: SignedInAccount, _ triggers: [AsyncThrowingStream<Void, any Error>],
        fetch: @escaping @Sendable () async throws -> T?
    ) async throws -> AsyncThrowingStream<T, any Error> {
        try await DerivedObservation.start(triggers: triggers, until: account.ended, fetch: fetch)
    }
}
