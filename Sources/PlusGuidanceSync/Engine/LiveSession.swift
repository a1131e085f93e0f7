import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

/// Keeps the event stream of one account open: drives ``LiveConnectionMachine`` with what the
/// stream does and with its wake-ups, slept on the injected clock.
///
/// What it guarantees (R7):
/// - **Nothing missed.** Every (re)connection resumes after the last event id seen and is
///   followed by a catch-up (``Hooks/catchUp``: deliver the outbox, pull the feed).
/// - **A dead stream is noticed.** Without an event or heartbeat for the heartbeat timeout, or
///   a connection attempt unanswered that long, the stream is dropped and opened again after a
///   jittered backoff.
/// - **Nothing in the loop can hang it.** Catch-up runs beside the loop, never in it: a request
///   stuck behind a dead connection must not stop the loop from noticing missed heartbeats.
/// - **Quiet when nothing happens.** The loop sleeps until the next deadline the machine asks
///   for (``LiveConnectionMachine/Action/wake(at:)``); there is no periodic tick.
///
/// Package access for the fleet benchmark, which runs a thousand of them against one server.
@_spi(PlusGuidanceTools) public struct LiveSession: Sendable {
    /// What the session tells its owner.
    @_spi(PlusGuidanceTools) public struct Hooks: Sendable {
        /// A connection attempt starts.
        var connecting: @Sendable () async -> Void
        /// The stream was lost; a reconnection is planned.
        var disconnected: @Sendable () async -> Void
        /// The stream is open: catch up with what happened while not connected. Returns whether
        /// it did; a failure is tried again while the stream stays open.
        var catchUp: @Sendable () async -> Bool
        /// An event arrived.
        var event: @Sendable (LiveEvent) async -> Void

        @_spi(PlusGuidanceTools) public init(
            connecting: @escaping @Sendable () async -> Void, disconnected: @escaping @Sendable () async -> Void,
            catchUp: @escaping @Sendable () async -> Bool, event: @escaping @Sendable (LiveEvent) async -> Void
        ) {
            self.connecting = connecting
            self.disconnected = disconnected
            self.catchUp = catchUp
            self.event = event
        }
    }

    let transport: any SyncTransport
    let clock: any WallClock
    let heartbeatTimeout: TimeInterval
    let cursor: FeedCursor?
    let hooks: Hooks
    var random: @Sendable () -> Double = { Double.random(in: 0..<1) }
    private let signals: AsyncStream<Signal>
    private let signal: AsyncStream<Signal>.Continuation

    @_spi(PlusGuidanceTools) public init(
        transport: any SyncTransport, clock: any WallClock, heartbeatTimeout: TimeInterval, cursor: FeedCursor?,
        hooks: Hooks
    ) {
        self.transport = transport
        self.clock = clock
        self.heartbeatTimeout = heartbeatTimeout
        self.cursor = cursor
        self.hooks = hooks
        (signals, signal) = AsyncStream.makeStream(of: Signal.self)
    }

    /// The server answered another request (the outbox sender's): a stream waiting out its
    /// backoff reconnects now.
    func serverReachable() { signal.yield(.reachable) }

    private enum Signal: Sendable {
        case opened
        case event(LiveEvent)
        case failed
        case wake
        case caughtUp(Int, succeeded: Bool)
        case reachable
    }

    /// Runs until the task is cancelled; once per session.
    @_spi(PlusGuidanceTools) public func run() async {
        var machine = LiveConnectionMachine(cursor: cursor)
        machine.heartbeatTimeout = heartbeatTimeout
        machine.random = random
        let signal = signal
        var stream: Task<Void, Never>?
        var catchUp: (id: Int, task: Task<Void, Never>)?
        var catchUps = 0
        var timer: Task<Void, Never>?
        defer {
            stream?.cancel()
            catchUp?.task.cancel()
            timer?.cancel()
        }
        var actions = machine.start(at: clock.now())
        var iterator = signals.makeAsyncIterator()
        while !Task.isCancelled {
            for action in actions {
                switch action {
                case .connect(let after):
                    await hooks.connecting()
                    stream?.cancel()
                    stream = Task { [transport] in await Self.follow(transport, after: after, signal: signal) }
                case .disconnect:
                    stream?.cancel()
                    stream = nil
                    catchUp?.task.cancel()
                    catchUp = nil
                    await hooks.disconnected()
                case .catchUp:
                    catchUp?.task.cancel()
                    catchUps += 1
                    let id = catchUps
                    catchUp = (
                        id,
                        Task { [hooks] in
                            let succeeded = await hooks.catchUp()
                            signal.yield(.caughtUp(id, succeeded: succeeded))
                        }
                    )
                case .wake(let deadline):
                    timer?.cancel()
                    timer = Task { [clock] in
                        do {
                            try await clock.sleep(until: deadline)
                            signal.yield(.wake)
                        } catch {}
                    }
                }
            }
            guard let next = await iterator.next() else { return }
            let now = clock.now()
            switch next {
            case .opened: actions = machine.connected(at: now)
            case .event(let event):
                actions = machine.received(cursor: event.cursor, at: now)
                await hooks.event(event)
            case .failed: actions = machine.failed(at: now)
            case .wake: actions = machine.tick(at: now)
            case .reachable: actions = machine.serverReachable(at: now)
            case .caughtUp(let id, let succeeded):
                actions = []
                // Only the latest catch-up's outcome counts; one of an earlier stream is stale.
                guard catchUp?.id == id else { break }
                catchUp = nil
                if succeeded { machine.caughtUp() } else { actions = machine.catchUpFailed(at: now) }
            }
        }
        _ = machine.stop()
    }

    private static func follow(
        _ transport: any SyncTransport, after: FeedCursor?, signal: AsyncStream<Signal>.Continuation
    ) async {
        do {
            let events = try await transport.events(after: after)
            signal.yield(.opened)
            for try await event in events { signal.yield(.event(event)) }
        } catch {}
        if !Task.isCancelled { signal.yield(.failed) }
    }
}

extension LiveEvent {
    fileprivate var cursor: FeedCursor? {
        if case .change(_, let cursor) = self { return cursor }
        return nil
    }
}
