import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// Decides which outbox entries a delivery round attempts (R8: messages go out exactly once
/// and in order per conversation; nothing is dropped).
///
/// - Messages of one conversation go out one after another, in enqueue order. A message waits
///   while an earlier message of its conversation waits for a backoff, is in flight, or failed:
///   a failed message blocks the ones after it until the user retries or discards it, as
///   matrix-rust-sdk's send queue does, so a conversation never shows a reply delivered before
///   the message it follows.
/// - Accept, decline and stop are independent of message order and of each other.
/// - Entries waiting for a backoff (`notBefore`) are not due yet.
public enum OutboxSchedule {
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
}
