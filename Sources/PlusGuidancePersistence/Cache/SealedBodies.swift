import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The sealed bodies of the messages among some changes, handed out in their order, and their
/// search tokens (``SearchIndex``).
///
/// A large batch (an initial sync commits ten feed pages at once) is sealed and tokenized on
/// another thread while the writer inserts, a chunk ahead of it: the write transaction waits
/// only for the first chunk, and the work costs the first sync little on a machine with two
/// cores. A small batch (a live event, a page of updates) is sealed here, and only the messages
/// new to the cache are tokenized, when asked (``tokens(of:)``).
final class SealedBodies: @unchecked Sendable {
    // @unchecked: `bodies` is written by the sealing thread, each chunk before its semaphore is
    // signalled, and read by the writer only after waiting for it; `position` and `readyChunks`
    // are the writer's alone.
    private static let chunkSize = 256
    private let messages: [Message]
    let cipher: FieldCipher
    private let bodies: UnsafeMutableBufferPointer<Data>
    private let tokens: UnsafeMutableBufferPointer<[UInt8]>
    let blind: BlindIndex
    private let ready: [DispatchSemaphore]
    private let failed = NSLock()
    private nonisolated(unsafe) var failure = false
    private var readyChunks = 0
    private var position = 0
    /// Whether the sealing thread made the tokens (a large batch).
    private let tokenizedAhead: Bool
    /// The index of the message ``next(_:)`` last handed out, when it was the batch's own.
    private var last: Int?

    init(_ changes: [Change], _ cipher: FieldCipher) {
        var messages: [Message] = []
        for case .message(let message) in changes { messages.append(message) }
        self.messages = messages
        self.cipher = cipher
        blind = cipher.blindIndex
        bodies = .allocate(capacity: messages.count)
        _ = bodies.initialize(from: repeatElement(Data(), count: messages.count))
        tokens = .allocate(capacity: messages.count)
        _ = tokens.initialize(from: repeatElement([], count: messages.count))
        let chunks = (messages.count + Self.chunkSize - 1) / Self.chunkSize
        tokenizedAhead = chunks > 2
        guard tokenizedAhead else {
            ready = []
            readyChunks = Int.max
            for index in messages.indices { bodies[index] = (try? seal(messages[index])) ?? Data() }
            failure = bodies.contains { $0.isEmpty }
            return
        }
        ready = (0..<chunks).map { _ in DispatchSemaphore(value: 0) }
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            for chunk in 0..<chunks {
                let range = (chunk * Self.chunkSize)..<min(self.messages.count, (chunk + 1) * Self.chunkSize)
                for index in range {
                    if SearchIndex.indexes(self.messages[index]) {
                        tokens[index] = SearchIndex.tokens(of: self.messages[index].body, blind)
                    }
                    if let sealed = try? seal(self.messages[index]) {
                        bodies[index] = sealed
                    } else {
                        failed.withLock { failure = true }
                    }
                }
                ready[chunk].signal()
            }
        }
    }

    deinit {
        bodies.deinitialize()
        bodies.deallocate()
        tokens.deinitialize()
        tokens.deallocate()
    }

    private func seal(_ message: Message) throws -> Data {
        try cipher.sealString(message.body, table: "message", row: message.id.rawValue)
    }

    /// The sealed body of `message`, the next message of the changes.
    func next(_ message: Message) throws -> Data {
        let index = position
        position += 1
        guard index < messages.count, messages[index].id == message.id else {
            last = nil
            return try seal(message)
        }
        last = index
        let chunk = index / Self.chunkSize
        while readyChunks <= chunk {
            ready[readyChunks].wait()
            readyChunks += 1
        }
        guard !failed.withLock({ failure }) else { return try seal(message) }
        return bodies[index]
    }

    /// The search tokens of `message`, the one ``next(_:)`` handed out last: made ahead for a
    /// large batch, here for a small one.
    func tokens(of message: Message) -> [UInt8] {
        if tokenizedAhead, let last, messages[last].id == message.id { return tokens[last] }
        return SearchIndex.tokens(of: message.body, blind)
    }
}
