import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

extension PlusGuidanceAPI {
    /// The bodies of every text in the conversation with `peer`, oldest first, read page by
    /// page from the server: what tests compare with what was sent, to see nothing was lost,
    /// doubled or reordered.
    public func allTexts(with peer: UserID) async throws -> [String] {
        var texts: [String] = []
        var before: MessageID?
        repeat {
            let page = try await messages(with: peer, limit: 200, before: before)
            texts += page.messages.filter { $0.kind == .text }.map(\.body)
            before = page.hasMore ? page.messages.last?.id : nil
        } while before != nil
        return texts.reversed()
    }
}
