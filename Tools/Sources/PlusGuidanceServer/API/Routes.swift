import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import NIOCore
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

/// The routes of Documentation/openapi.yaml.
struct Routes: Sendable {
    let store: ServerStore
    let hub: LiveHub
    let configuration: ServerConfiguration

    func register(on router: Router<APIContext>) {
        router.get("/v1/health") { _, _ in try Response.json(["status": "ok"]) }
        router.post("/v1/auth/login") { request, context in
            var request = request
            let (body, _) = try await request.decode(LoginRequest.self, limit: configuration.maximumBodyBytes)
            let throttle = store.loginThrottle
            if let wait = await throttle.retryAfter(account: body.email, address: context.clientAddress) {
                throw APIError.tooManySignIns(retryAfter: wait)
            }
            guard let tokens = try await store.login(email: body.email, password: body.password) else {
                await throttle.failed(account: body.email, address: context.clientAddress)
                throw APIError.invalidCredentials
            }
            await throttle.succeeded(account: body.email)
            await hub.touch(UserID(tokens.user.id), at: store.clock.now())
            return try Response.json(tokens)
        }
        router.post("/v1/auth/refresh") { request, _ in
            var request = request
            let (body, _) = try await request.decode(RefreshRequest.self, limit: configuration.maximumBodyBytes)
            let tokens = try await store.refresh(body.refreshToken)
            await hub.touch(UserID(tokens.user.id), at: store.clock.now())
            return try Response.json(tokens)
        }
        if let manual = store.clock.manual {
            router.post("/v1/test/clock/advance") { request, _ in
                var request = request
                let (body, _) = try await request.decode(
                    AdvanceClockRequest.self, limit: configuration.maximumBodyBytes)
                // A century at most: beyond it a date no longer converts to whole milliseconds.
                guard body.seconds.isFinite, (0...3_153_600_000).contains(body.seconds) else {
                    throw APIError.invalidRequest("seconds must be a number from 0 to 3153600000")
                }
                manual.advance(by: body.seconds)
                if try await store.expireDueOffers() > 0 { await hub.changed() }
                await hub.clockMoved()
                return try Response.json(ClockWire(now: store.clock.now()))
            }
        }

        let api = router.group("/v1").add(middleware: AuthenticationMiddleware(store: store, hub: hub))
        api.post("/auth/logout") { _, context in
            if let family = context.tokenFamily { try await store.logout(family: family) }
            return Response(status: .noContent)
        }
        api.get("/me") { _, context in try Response.json(UserWire(try context.requireUser())) }
        api.get("/contacts") { _, context in
            let user = try context.requireUser()
            let now = store.clock.now()
            var contacts: [ContactWire] = []
            for peer in try await store.contacts(of: user) {
                contacts.append(
                    ContactWire(
                        peer, online: await hub.isOnline(peer.id, at: now), lastSeenAt: await hub.lastSeen(peer.id)))
            }
            return try Response.json(ContactsWire(contacts: contacts))
        }
        api.get("/conversations/:peer/messages") { request, context in
            let user = try context.requireUser()
            let limit = try Self.limit(request, default: 50, maximum: 200)
            let before = request.uri.queryParameters.get("before").map { MessageID(String($0)) }
            let (messages, hasMore) = try await store.messages(
                for: user, peer: UserID(try context.parameters.require("peer")), limit: limit, before: before)
            return try Response.json(MessagesPageWire(messages: messages.map(MessageWire.init), hasMore: hasMore))
        }
        api.post("/conversations/:peer/messages") { request, context in
            let user = try context.requireUser()
            let peer = UserID(try context.parameters.require("peer"))
            return try await idempotent(request, context, SendMessageRequest.self) { body, db in
                try sendMessageCommand(user: user, peer: peer, id: body.id, body: body.body).run(db)
            }
        }
        api.post("/conversations/:peer/read") { request, context in
            let user = try context.requireUser()
            let peer = UserID(try context.parameters.require("peer"))
            return try await idempotent(request, context, MarkReadRequest.self) { body, db in
                guard !body.messageId.isEmpty else { throw APIError.invalidRequest("messageId must not be empty") }
                return try markReadCommand(user: user, peer: peer, messageID: body.messageId).run(db)
            }
        }
        api.get("/offers") { _, context in
            try Response.json(
                OffersWire(offers: try await store.offers(for: try context.requireUser()).map(OfferWire.init)))
        }
        api.post("/offers") { request, context in
            let user = try context.requireUser()
            var request = request
            // Presence is looked up before the transaction; the body is read once, here.
            let (body, data) = try await request.decode(CreateOfferRequest.self, limit: configuration.maximumBodyBytes)
            let online = await hub.isOnline(UserID(body.clientId), at: store.clock.now())
            return try await idempotent(request, context, body: body, data: data) { body, db in
                let type = try SessionType(parsing: body.type)
                var startsAt: Date?
                if let text = body.startsAt {
                    guard let date = RFC3339.date(text) else {
                        throw APIError.invalidRequest("startsAt must be an RFC 3339 time")
                    }
                    startsAt = date
                }
                let options = OfferOptions(
                    type: type, startsAt: startsAt, durationMinutes: body.durationMinutes,
                    requiresConfirmation: body.requiresConfirmation ?? true)
                let offer = try store.createOffer(
                    db, by: user, to: UserID(body.clientId), options: options, clientIsOnline: online)
                return try Self.answer(OfferWire(offer), status: 201)
            }
        }
        for (verb, accept) in [("accept", true), ("decline", false)] {
            api.post("/offers/:id/\(verb)") { request, context in
                let user = try context.requireUser()
                let command = answerCommand(
                    user: user, offer: OfferID(try context.parameters.require("id")), accept: accept)
                return try await idempotent(request, context, EmptyBody.self) { _, db in try command.run(db) }
            }
        }
        api.get("/sessions/upcoming") { _, context in
            let now = store.clock.now()
            let sessions = try await store.upcomingSessions(for: try context.requireUser())
            return try Response.json(SessionsWire(sessions: sessions.map { SessionWire($0, at: now) }))
        }
        api.get("/sessions/:id") { _, context in
            let session = try await store.session(
                SessionID(try context.parameters.require("id")), for: try context.requireUser())
            return try Response.json(SessionWire(session, at: store.clock.now()))
        }
        api.post("/sessions/:id/stop") { request, context in
            let user = try context.requireUser()
            let command = stopCommand(user: user, session: SessionID(try context.parameters.require("id")))
            return try await idempotent(request, context, EmptyBody.self) { _, db in try command.run(db) }
        }
        api.post("/batch") { request, context in try await batch(request, context) }
        api.get("/changes") { request, context in
            let user = try context.requireUser()
            let limit = try Self.limit(request, default: 500, maximum: 1_000)
            let after = request.uri.queryParameters.get("after").map { String($0) }
            let countRemaining: Bool
            switch request.uri.queryParameters.get("count") {
            case nil, "false": countRemaining = false
            case "true": countRemaining = true
            default: throw APIError.invalidRequest("count must be true or false")
            }
            let page = try await store.feed(for: user, after: after, limit: limit, countRemaining: countRemaining)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: page)))
        }
        api.get("/events") { request, context in try await events(request, context) }
    }

    struct EmptyBody: Decodable {}

    static func limit(_ request: Request, default value: Int, maximum: Int) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return value }
        guard let limit = Int(text), (1...maximum).contains(limit) else {
            throw APIError.invalidRequest("limit must be a whole number from 1 to \(maximum)")
        }
        return limit
    }

    static func answer(_ value: some Encodable, status: Int = 200) throws -> StoredAnswer {
        StoredAnswer(status: status, contentType: "application/json", body: try JSONEncoder().encode(value))
    }

    /// Decodes the body (empty bodies count as `{}` for bodiless commands) and runs an
    /// idempotent command.
    func idempotent<Body: Decodable & Sendable>(
        _ request: Request, _ context: APIContext, _ type: Body.Type,
        _ command: @escaping @Sendable (Body, GRDB.Database) throws -> StoredAnswer
    ) async throws -> Response {
        var request = request
        let limit = configuration.maximumBodyBytes
        let (body, data): (Body, Data)
        if Body.self == EmptyBody.self {
            let buffer: ByteBuffer
            do { buffer = try await request.collectBody(upTo: limit) } catch is NIOTooManyBytesError {
                throw APIError.bodyTooLarge(limit: limit)
            }
            data = Data(buffer.readableBytesView)
            body = EmptyBody() as! Body
        } else {
            (body, data) = try await request.decode(Body.self, limit: limit)
        }
        return try await idempotent(request, context, body: body, data: data, command)
    }

    func idempotent<Body: Sendable>(
        _ request: Request, _ context: APIContext, body: Body, data: Data,
        _ command: @escaping @Sendable (Body, GRDB.Database) throws -> StoredAnswer
    ) async throws -> Response {
        let user = try context.requireUser()
        guard let key = request.headers[.idempotencyKey], (1...255).contains(key.utf8.count) else {
            throw APIError.idempotencyKeyRequired
        }
        let (answer, replayed) = try await store.idempotent(
            user: user.id, key: key, requestHash: request.fingerprint(body: data)
        ) { db in try command(body, db) }
        if !replayed, answer.status < 300 { await hub.changed() }
        var headers: HTTPFields = [.contentType: answer.contentType]
        if replayed { headers[.idempotentReplayed] = "true" }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
