import Foundation

/// An ``OutboxStore`` held in memory: for tests and the Sync module's unit and model-based tests.
public actor InMemoryOutboxStore: OutboxStore {
    private var stored: [IdempotencyKey: OutboxEntry] = [:]
    private var nextSequence: Int64 = 1
    private let changed = ChangeSignal()

    public init() {}

    public nonisolated func changes() -> AsyncThrowingStream<Void, any Error> { changed.changes() }

    public func enqueue(_ entry: OutboxEntry) -> OutboxEntry {
        if let existing = stored[entry.id] { return existing }
        var entry = entry
        entry.sequence = nextSequence
        nextSequence += 1
        stored[entry.id] = entry
        changed.fire()
        return entry
    }

    public func enqueue(_ entry: OutboxEntry, superseding superseded: [IdempotencyKey]) -> OutboxEntry {
        for key in superseded where stored[key]?.state == .pending { stored[key] = nil }
        return enqueue(entry)
    }

    public func entries() -> [OutboxEntry] { stored.values.sorted { $0.sequence < $1.sequence } }

    public func entries(in conversation: ConversationID) -> [OutboxEntry] {
        entries().filter { $0.action.orderingConversation == conversation }
    }

    public func entry(_ key: IdempotencyKey) -> OutboxEntry? { stored[key] }

    public func update(_ entry: OutboxEntry, durably: Bool) throws {
        guard let existing = stored[entry.id] else { throw DomainError.notFound }
        var entry = entry
        entry.sequence = existing.sequence
        stored[entry.id] = entry
        changed.fire()
    }

    public func remove(_ key: IdempotencyKey, durably: Bool) {
        guard stored.removeValue(forKey: key) != nil else { return }
        changed.fire()
    }

    public func removeAll() {
        stored = [:]
        changed.fire()
    }

    public func isQueuedBehindAnother(_ key: IdempotencyKey) -> Bool {
        guard let this = stored[key], let conversation = this.action.orderingConversation else { return false }
        return stored.values.contains {
            $0.action.orderingConversation == conversation && $0.sequence < this.sequence
        }
    }

    public func summary() -> OutboxSummary { OutboxSummary(of: entries()) }
}
