import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

// The change feed: cursor pages, checked against the contract.
extension PlusGuidanceAPI {
    /// A page of the change feed after `cursor` (from the start when `nil`).
    /// - Parameters:
    ///   - cursor: the previous page's cursor, or `nil` for the start of the feed.
    ///   - limit: at most this many changes (the server's default when `nil`).
    ///   - countRemaining: ask the server how many changes follow the page
    ///     (`PlusGuidanceDomain.ChangePage.remaining`); it costs the server a count, so ask on
    ///     the first page of a sync only.
    /// - Throws: ``PlusGuidanceAPIError/cursorTooOld`` when the client must resynchronise. A
    ///   page with any change that does not decode fails whole (`invalid_response`).
    public func changes(
        after cursor: FeedCursor?, limit: Int = 500, countRemaining: Bool = false
    ) async throws
        -> ChangePage
    {
        var path = "/v1/changes?limit=\(limit)"
        if let cursor { path += "&after=\(escape(cursor.rawValue))" }
        if countRemaining { path += "&count=true" }
        return try Self.changePage(from: try await call(.get, path).body)
    }

    /// A feed page's body as the domain's page, checked against the contract; the whole page is
    /// refused when any part of it fails. (`package` for the sync benchmark's decode figure.)
    ///
    /// ``PlusGuidanceWire/FeedPageReader`` reads the page when it can; it leaves anything it is
    /// not certain of to `JSONDecoder`, so both paths accept and refuse the same pages.
    @_spi(PlusGuidanceTools) public static func changePage(from body: Data) throws(PlusGuidanceAPIError) -> ChangePage {
        let page: (FeedPageWire) throws(WireError) -> ChangePage = { wire throws(WireError) in try wire.domain() }
        guard let read = FeedPageReader.read(body) else { return try decode(FeedPageWire.self, from: body, page) }
        do {
            return try page(read)
        } catch {
            throw PlusGuidanceAPIError.invalidResponse(error.reason)
        }
    }
}
