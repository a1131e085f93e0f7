import Foundation
import PlusGuidanceDomain

/// Something that happened to the signed-in account, as ``PlusGuidanceClient/events(reminderLead:)``
/// reports it: what a person following the account live wants to hear of.
public enum AccountEvent: Hashable, Sendable {
    /// A message arrived or was written, or one changed: sent after pending, failed, or read by
    /// its recipient (``Message/readAt``).
    case message(Message, MessageChange)
    /// An offer was made, or answered, or expired (its ``SessionOffer/state`` says which).
    case offer(SessionOffer, OfferChange)
    /// A session became ready, is about to start, started, ran into overtime or ended.
    case session(Session, SessionChange)
    /// A contact came online or went offline.
    case presence(Contact)

    public enum MessageChange: String, Hashable, Sendable {
        case new
        case changed
    }

    public enum OfferChange: String, Hashable, Sendable {
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

    /// What happens to the account from now on, as it happens, until the account signs out or
    /// the task is cancelled: messages (new, sent, failed, read), offers and their answers or
    /// expiry, sessions (ready, about to start, started, overtime, ended) and contacts' presence.
    ///
    /// It follows the account's cache and outbox, whichever process changes them: beside
    /// `pg-syncd` it reports what the daemon receives; with ``startLive()`` in the same process,
    /// what this one receives. Nothing is missed across a lost connection: the catch-up after
    /// the reconnection brings what happened meanwhile, and it is reported then. Time-driven
    /// changes (a start, overtime, a reminder `reminderLead` before a scheduled start) follow
    /// the server's clock, as the engine last measured it.
    public func events(reminderLead: Duration = .seconds(300)) throws -> AsyncThrowingStream<AccountEvent, any Error> {
        let account = try signedIn()
        let lead =
            TimeInterval(reminderLead.components.seconds) + TimeInterval(reminderLead.components.attoseconds) / 1e18
        let triggers = [account.cache.changes(), account.outbox.changes()]
        let clock = configuration.localClock
        return AsyncThrowingStream { continuation in
            let (ticks, tick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            let feeders = triggers.map { trigger in
                Task {
                    do { for try await _ in trigger { tick.yield() } } catch {}
                }
            }
            let watcher = Task {
                for await _ in account.ended.stream() {}
                if !Task.isCancelled { continuation.finish() }
            }
            let worker = Task {
                var tracker = AccountEventTracker(me: account.user.id, reminderLead: lead)
                var timer: Task<Void, Never>?
                defer { timer?.cancel() }
                var wakes = ticks.makeAsyncIterator()
                do {
                    var first = true
                    repeat {
                        let snapshot = try await AccountEventTracker.Snapshot.read(account, now: await self.serverNow())
                        for event in tracker.update(snapshot, reporting: !first) { continuation.yield(event) }
                        first = false
                        // Wake for the next time-driven change, measured on the server's clock.
                        timer?.cancel()
                        if let next = tracker.nextDeadline(after: snapshot.now) {
                            let wait = max(0, next.timeIntervalSince(snapshot.now)) + 0.05
                            timer = Task {
                                try? await clock.sleep(until: clock.now() + wait)
                                if !Task.isCancelled { tick.yield() }
                            }
                        }
                    } while await wakes.next() != nil && !Task.isCancelled
                } catch {
                    continuation.finish(throwing: account.ended.isFinished ? nil : error)
                }
            }
            continuation.onTermination = { _ in
                for feeder in feeders { feeder.cancel() }
                watcher.cancel()
                worker.cancel()
                tick.finish()
            }
        }
    }
}

/// Turns successive snapshots of the account into events: what is new or changed since the
/// last snapshot, and the time-driven session changes that came due. A value type, tested alone.
struct AccountEventTracker {
    /// What the tracker compares: the latest messages of each conversation, the offers, the
    /// sessions not ended (and those that were), the contacts, at server time `now`.
    struct Snapshot {
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
