import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

// Signing in and out, the signed-in user and their contacts.
extension PlusGuidanceAPI {
    /// Signs in and keeps the tokens.
    /// - Throws: ``PlusGuidanceAPIError/badCredentials``, or `unreachable`.
    public func login(email: String, password: String) async throws -> User {
        let body = try JSONEncoder().encode(LoginRequest(email: email, password: password))
        let response = try await send(.post, "/v1/auth/login", body: body, authenticated: false)
        if response.status == 401 { throw PlusGuidanceAPIError.badCredentials }
        let (newTokens, user) = try decode(TokensWire.self, try success(response)) { wire throws(WireError) in
            let checked = try wire.domain()
            return (APITokens(accessToken: checked.accessToken, refreshToken: checked.refreshToken), checked.user)
        }
        try await onTokensChanged(newTokens)
        tokens = newTokens
        return user
    }

    /// Revokes the tokens on the server (best effort) and forgets them.
    public func logout() async throws {
        if tokens != nil { _ = try? await send(.post, "/v1/auth/logout", body: nil, authenticated: true) }
        tokens = nil
        try await onTokensChanged(nil)
    }

    public func me() async throws -> User {
        try decode(UserWire.self, try await call(.get, "/v1/me")) { wire throws(WireError) in try wire.domain() }
    }

    /// A therapist's clients, or a client's therapist, with presence.
    public func contacts() async throws -> [Contact] {
        try decode(ContactsWire.self, try await call(.get, "/v1/contacts")) { wire throws(WireError) in
            try wire.contacts.domain { contact throws(WireError) in try contact.domain() }
        }
    }
}
