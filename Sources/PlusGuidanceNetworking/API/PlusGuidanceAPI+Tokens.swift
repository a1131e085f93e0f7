import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

/// Token refresh: one at a time per client (single flight), shared across the processes of a
/// profile through the ``RefreshCoordinator`` when there is one; a refresh without a verdict
/// (no answer, a server failure) keeps the tokens, a refused one signs out.
extension PlusGuidanceAPI {
    /// Runs `operation` with the access token; on a 401, refreshes once (single flight) and
    /// runs it again with the new token.
    func withFreshToken<T: Sendable>(
        _ operation: @Sendable (String) async throws -> T, status: (T) -> Int
    ) async throws -> T {
        guard let current = tokens else { throw PlusGuidanceAPIError.signedOut }
        let first = try await operation(current.accessToken)
        guard status(first) == 401 else { return first }
        let renewed = try await refreshedTokens(replacing: current)
        return try await operation(renewed.accessToken)
    }

    func refreshedTokens(replacing stale: APITokens) async throws -> APITokens {
        if let tokens, tokens != stale { return tokens }  // another call already refreshed
        if let refreshing { return try await refreshing.value }
        let refresh: @Sendable () async throws -> APITokens = {
            let body = try JSONEncoder().encode(RefreshRequest(refreshToken: stale.refreshToken))
            let response = try await self.perform(
                HTTPRequest(
                    method: .post, url: self.url("/v1/auth/refresh"), headers: [("Content-Type", "application/json")],
                    body: body))
            if response.status >= 500 || response.status == 429 {
                throw PlusGuidanceAPIError.serverError(status: response.status, problemCode: nil)
            }
            guard response.status == 200 else { throw PlusGuidanceAPIError.signedOut }
            return try self.decode(TokensWire.self, response) { wire throws(WireError) in
                let checked = try wire.domain()
                return APITokens(accessToken: checked.accessToken, refreshToken: checked.refreshToken)
            }
        }
        let coordinator = refreshCoordinator
        let task = Task { () throws -> APITokens in
            if let coordinator { return try await coordinator(stale, refresh) }
            return try await refresh()
        }
        refreshing = task
        defer { refreshing = nil }
        do {
            let renewed = try await task.value
            if coordinator == nil { try await onTokensChanged(renewed) }
            tokens = renewed
            return renewed
        } catch let error as PlusGuidanceAPIError
            where [.unreachable, .serverError, .invalidResponse].contains(error.kind)
        {
            // The refresh did not get a verdict (no answer, a server failure, or an answer outside
            // the contract): the tokens stay, the call fails without signing out.
            throw error
        } catch {
            tokens = nil
            if coordinator == nil { try? await onTokensChanged(nil) }
            throw PlusGuidanceAPIError.signedOut
        }
    }
}
