import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// Something that happened to the signed-in account, as ``PlusGuidanceClient/events(reminderLead:)``
/// reports it: what a person following the account live wants to hear of.
public enum AccountEvent: Hashable, Sendable {
    /// A message arrived or was written, or one changed: sent after pending, failed, or read by
    /// its recipient (`Message.readAt`).
    case message(Message, Change)
    /// An offer was made, or answered, or expired (its `SessionOffer.state` says which).
    case offer(SessionOffer, Change)
    /// A session became ready, is about to start, started, ran into overtime or ended.
    case session(Session, SessionChange)
    /// A contact came online or went offline.
    case presence(Contact)

    /// Whether a message or an offer is new to the account, or a known one changed.
    public enum Change: String, Hashable, Sendable {
        case new
        case changed
    }

    public enum SessionChange: String, Hashable, Sendable {
        /// Created or confirmed: it is in the upcoming sessions (R7).
        case ready
        /// Its start is ``PlusGuidanceClient/events(reminderLead:)``'s lead away, on the
        /// server's clock.
        case reminder
        /// Its start time passed.
        case started
        /// Its expected duration ran out; it goes on until the therapist stops it (R6).
        case overtime
        case ended
    }
}

extension PlusGuidanceClient {
    /// How many of each conversation's latest messages ``events(reminderLead:)`` compares from
    /// one commit to the next: a burst of more messages than this in one conversation between
    /// two commits reports only the latest of them.
    public static let eventWindow = 100

    /// What happens to the account from the moment this returns, as it happens, until the
    /// account signs out or the task is cancelled: messages (new, sent, failed, read), offers and
    /// their answers or expiry, sessions (ready, about to start, started, overtime, ended) and
    /// contacts' presence.
    ///
    /// Everything that happens after this returns is reported, however long the app waits
    /// before it iterates (events wait in the sequence's buffer) and however busy the machine
    /// is: the cache and the outbox are subscribed, and what they hold is read, before it
    /// returns; what they held then is not news, but a reminder already due is reported first.
    ///
    /// It follows the account's cache and outbox, whichever process changes them: beside
    /// `pg-syncd` it reports what the daemon receives; with ``startLive()`` in the same process,
    /// what this one receives. Nothing is missed across a lost connection: the catch-up after
    /// the reconnection brings what happened meanwhile, and it is reported then. Time-driven
    /// changes (a start, overtime, a reminder `reminderLead` before a scheduled start) follow
    /// the server's clock, as the engine last measured it.
    /// - Throws: ``PlusGuidanceClientError/Code/notSignedIn``, or what reading the cache throws.
    public func events(
        reminderLead: Duration = .seconds(300)
    ) async throws
        -> AsyncThrowingStream<AccountEvent, any Error>
    {
        let account = try signedIn()
        let lead = reminderLead.timeInterval
        let clock = configuration.localClock
        let alarm = Alarm(clock: clock)
        let snapshots: AsyncThrowingStream<AccountEventTracker.Snapshot, any Error>
        do {
            // The first snapshot (what is not news) is read before this returns.
            snapshots = try await observe(account, [account.cache.changes(), account.outbox.changes(), alarm.ticks]) {
                try await AccountEventTracker.Snapshot.read(account, now: await self.serverNow())
            }
        } catch {
            alarm.cancel()
            throw error
        }
        return AsyncThrowingStream { continuation in
            let task = Task {
                var tracker = AccountEventTracker(me: account.user.id, reminderLead: lead)
                var first = true
                do {
                    for try await snapshot in snapshots {
                        for event in tracker.update(snapshot, reporting: !first) { continuation.yield(event) }
                        first = false
                        // Wake for the next time-driven change: a server time, reached after the
                        // same interval on this machine's clock.
                        alarm.ring(
                            at: tracker.nextDeadline(after: snapshot.now).map {
                                clock.now() + max(0, $0.timeIntervalSince(snapshot.now)) + 0.05
                            })
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in
                task.cancel()
                alarm.cancel()
            }
        }
    }
}

/// A trigger that ticks once at the time its owner last set, on `clock`.
final class Alarm: @unchecked Sendable {
    // @unchecked: `pending` is only touched under `lock`; the rest is immutable.
    let ticks: AsyncThrowingStream<Void, any Error>
    private let tick: AsyncThrowingStream<Void, any Error>.Continuation
    private let clock: any WallClock
    private let lock = NSLock()
    private var pending: Task<Void, Never>?

    init(clock: any WallClock) {
        self.clock = clock
        (ticks, tick) = AsyncThrowingStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Ticks once at `date` (replacing the time set before); `nil` ticks no more.
    func ring(at date: Date?) {
        lock.withLock {
            pending?.cancel()
            pending = date.map { date in
                Task { [clock, tick] in
                    try? await clock.sleep(until: date)
                    if !Task.isCancelled { tick.yield() }
                }
            }
        }
    }

    func cancel() {
        ring(at: nil)
        tick.finish()
    }
}

/// Turns successive snapshots of the account into events: what is new or changed since the
/// last snapshot, and the time-driven session changes that came due. A value type, tested alone.
struct AccountEventTracker {
    /// What the tracker compares: the latest messages of each conversation, the offers, the
    /// sessions not ended (and those that were), the contacts, at server time `now`.
    struct Snapshot: Equatable, Sendable {
        var now: Date
        var contacts: [Contact]
        var messages: [ConversationID: [Message]]
        var offers: [SessionOffer]
        var sessions: [Session]

        static func read(_ account: SignedInAccount, now: Date) async throws -> Snapshot {
            let contacts = try await PlusGuidanceClient.contacts(of: account)
            var messages: [ConversationID: [Message]] = [:]
            for contact in contacts {
                let conversation = CareRelation(user: account.user, peer: contact.id).conversationID
                messages[conversation] = try await PlusGuidanceClient.messages(
                    in: conversation, limit: PlusGuidanceClient.eventWindow, account: account)
            }
            return Snapshot(
                now: now, contacts: contacts, messages: messages, offers: try await account.cache.offers(),
                sessions: try await account.cache.upcomingSessions(at: now))
        }
    }

    fileprivate enum SessionPhase: Int, Comparable {
        case scheduled, reminded, started, overtime, ended
        static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    }

    let me: UserID
    let reminderLead: TimeInterval
    private var messages: [MessageID: Message] = [:]
    private var offers: [OfferID: SessionOffer.State] = [:]
    private var sessions: [SessionID: (session: Session, phase: SessionPhase)] = [:]
    private var online: [UserID: Bool] = [:]

    init(me: UserID, reminderLead: TimeInterval) {
        self.me = me
        self.reminderLead = reminderLead
    }

    /// The events between the last snapshot and `snapshot`, oldest first; none with
    /// `reporting: false` (the first snapshot: what was there before is not news), except
    /// a reminder due now.
    mutating func update(_ snapshot: Snapshot, reporting: Bool) -> [AccountEvent] {
        var events: [AccountEvent] = []
        for contact in snapshot.contacts {
            let was = online.updateValue(contact.presence.isOnline, forKey: contact.id)
            if reporting, let was, was != contact.presence.isOnline { events.append(.presence(contact)) }
        }
        let latest = snapshot.messages.values.joined().sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        for message in latest {
            let before = messages.updateValue(message, forKey: message.id)
            guard reporting else { continue }
            if let before {
                if before.deliveryState != message.deliveryState || before.readAt != message.readAt {
                    events.append(.message(message, .changed))
                }
            } else {
                events.append(.message(message, .new))
            }
        }
        // Forget messages that left every window, so the map stays bounded.
        if messages.count > latest.count * 2 + 64 {
            let kept = Set(latest.map(\.id))
            messages = messages.filter { kept.contains($0.key) }
        }
        for offer in snapshot.offers.reversed() {
            let before = offers.updateValue(offer.state, forKey: offer.id)
            guard reporting else { continue }
            if before == nil {
                events.append(.offer(offer, .new))
            } else if before != offer.state {
                events.append(.offer(offer, .changed))
            }
        }
        var seen: Set<SessionID> = []
        for session in snapshot.sessions {
            seen.insert(session.id)
            let phase = self.phase(of: session, at: snapshot.now)
            if let known = sessions[session.id] {
                sessions[session.id] = (session, max(known.phase, phase))
                for step in [SessionPhase.reminded, .started, .overtime] where known.phase < step && phase >= step {
                    // A reminder is only news before the start.
                    if step == .reminded, phase > .reminded { continue }
                    events.append(.session(session, step.change))
                }
            } else {
                sessions[session.id] = (session, phase)
                if reporting { events.append(.session(session, .ready)) }
                if phase == .reminded { events.append(.session(session, .reminder)) }
            }
        }
        // A session that left the upcoming ones ended.
        for (id, known) in sessions where !seen.contains(id) {
            sessions[id] = nil
            guard reporting, known.phase != .ended else { continue }
            var ended = known.session
            if ended.endedAt == nil { ended.endedAt = snapshot.now }
            events.append(.session(ended, .ended))
        }
        return events
    }

    /// The next server time at which a tracked session changes phase by the clock alone.
    func nextDeadline(after now: Date) -> Date? {
        sessions.values.compactMap { session, phase -> Date? in
            let start = session.startsAt
            // Overtime counts whole seconds past the end (SessionCountdown).
            let end = start + TimeInterval(session.durationMinutes * 60) + 1
            let steps: [(at: Date, phase: SessionPhase)] = [
                (start - reminderLead, .reminded), (start, .started), (end, .overtime),
            ]
            return steps.first { $0.phase > phase && $0.at > now }?.at
        }.min()
    }

    private func phase(of session: Session, at now: Date) -> SessionPhase {
        let countdown = session.countdown(at: now)
        switch countdown.state {
        case .ended: return .ended
        case .inProgress: return countdown.isOvertime ? .overtime : .started
        case .scheduled: return now >= session.startsAt - reminderLead ? .reminded : .scheduled
        }
    }
}

extension AccountEventTracker.SessionPhase {
    fileprivate var change: AccountEvent.SessionChange {
        switch self {
        case .scheduled, .reminded: .reminder
        case .started: .started
        case .overtime: .overtime
        case .ended: .ended
        }
    }
}
