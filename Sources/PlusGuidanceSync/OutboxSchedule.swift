import Foundation
import PlusGuidanceDomain

/// Decides which outbox entries may be attempted now (R8: messages go out exactly once and in
/// order per conversation; nothing is dropped).
///
/// - Messages of one conversation go out one at a time, in enqueue order: a message waits while
///   an earlier message of its conversation is pending, in flight, or failed. A failed message
///   blocks the ones after it until the user retries or discards it, as matrix-rust-sdk's send
///   queue does, so a conversation never shows a reply delivered before the message it follows.
/// - Accept, decline and stop are independent of message order and of each other.
/// - Entries waiting for a backoff (`notBefore`) are not due yet.
public enum OutboxSchedule {
    /// The entries to attempt at `now`, in enqueue order, at most `limit`.
    public static func due(_ entries: [OutboxEntry], at now: Date, limit: Int = .max) -> [OutboxEntry] {
        var blocked: Set<ConversationID> = []
        var due: [OutboxEntry] = []
        for entry in entries.sorted(by: { $0.sequence < $1.sequence }) {
            if let conversation = entry.action.orderingConversation {
                if blocked.contains(conversation) { continue }
                blocked.insert(conversation)
            }
            if entry.isDue(at: now) { due.append(entry) }
            if due.count == limit { break }
        }
        return due
    }

    /// The entries one delivery round may attempt at `now`, in order: every due accept, decline
    /// and stop, and for each conversation its messages from the first one on, as long as they
    /// are due (a message waiting for a backoff, in flight or failed stops its conversation).
    /// The round attempts them one after another and stops a conversation at its first
    /// failure, so its messages still go out in order, without reading the outbox again for
    /// each one.
    public static func deliverable(_ entries: [OutboxEntry], at now: Date) -> [OutboxEntry] {
        var stopped: Set<ConversationID> = []
        var round: [OutboxEntry] = []
        for entry in entries.sorted(by: { $0.sequence < $1.sequence }) {
            let conversation = entry.action.orderingConversation
            if let conversation, stopped.contains(conversation) { continue }
            if entry.isDue(at: now) {
                round.append(entry)
            } else if let conversation {
                stopped.insert(conversation)
            }
        }
        return round
    }

    /// When the earliest entry that waits only for its backoff becomes due, if any: how long a
    /// sync engine may sleep before looking again.
    public static func nextWake(_ entries: [OutboxEntry]) -> Date? {
        entries.filter { $0.state == .pending }.compactMap(\.notBefore).min()
    }
}
