import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

// Instant Session offers, their answers, and sessions.
extension PlusGuidanceAPI {
    public func offers() async throws -> [SessionOffer] {
        try decode(OffersWire.self, try await call(.get, "/v1/offers")) { wire throws(WireError) in
            try wire.offers.domain { offer throws(WireError) in try offer.domain() }
        }
    }

    /// Offers an Instant Session. Needs the client online now: never queued, never retried, so
    /// an unreachable server fails the call at once (R8).
    public func createOffer(
        to client: UserID, options: OfferOptions, idempotencyKey: IdempotencyKey
    ) async throws
        -> SessionOffer
    {
        let body = try JSONEncoder().encode(CreateOfferRequest(client: client, options: options))
        let response = try await call(.post, "/v1/offers", body: body, key: idempotencyKey)
        return try decode(OfferWire.self, response) { wire throws(WireError) in try wire.domain() }
    }

    /// The offered client accepts; returns the offer and the session it created.
    public func accept(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> (SessionOffer, Session?) {
        let response = try await call(
            .post, "/v1/offers/\(escape(offer.rawValue))/accept", body: Data(), key: idempotencyKey)
        return try decode(AnswerWire.self, response) { wire throws(WireError) in try wire.domain() }
    }

    public func decline(_ offer: OfferID, idempotencyKey: IdempotencyKey) async throws -> SessionOffer {
        let response = try await call(
            .post, "/v1/offers/\(escape(offer.rawValue))/decline", body: Data(), key: idempotencyKey)
        return try decode(AnswerWire.self, response) { wire throws(WireError) in try wire.offer.domain() }
    }

    public func stop(_ session: SessionID, idempotencyKey: IdempotencyKey) async throws -> Session {
        let response = try await call(
            .post, "/v1/sessions/\(escape(session.rawValue))/stop", body: Data(), key: idempotencyKey)
        return try decode(SessionWire.self, response) { wire throws(WireError) in try wire.domain() }
    }

    public func upcomingSessions() async throws -> [Session] {
        try decode(SessionsWire.self, try await call(.get, "/v1/sessions/upcoming")) { wire throws(WireError) in
            try wire.sessions.domain { session throws(WireError) in try session.domain() }
        }
    }

    public func session(_ id: SessionID) async throws -> Session {
        try decode(SessionWire.self, try await call(.get, "/v1/sessions/\(escape(id.rawValue))")) {
            wire throws(WireError) in try wire.domain()
        }
    }
}
