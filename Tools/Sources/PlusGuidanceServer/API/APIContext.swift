import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The request context of the API: Hummingbird's core context plus the authenticated user.
struct APIContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var user: User?
    var tokenFamily: String?
    /// The client's IP address (for the sign-in throttle), when known.
    let clientAddress: String?

    init(source: Source) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress
    }

    func requireUser() throws -> User {
        guard let user else { throw APIError.unauthorized }
        return user
    }
}

/// Resolves `Authorization: Bearer …` to a user, and records the request for presence (R2).
struct AuthenticationMiddleware: RouterMiddleware {
    let store: ServerStore
    let hub: LiveHub

    func handle(
        _ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response
    )
        async throws -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized
        }
        let (user, family) = try await store.authenticate(String(header.dropFirst(7)))
        await hub.touch(user.id, at: store.clock.now())
        var context = context
        context.user = user
        context.tokenFamily = family
        context.logger[metadataKey: "user.id"] = .string(user.id.rawValue)
        return try await next(request, context)
    }
}

/// Logs one line per request at debug level (info for server errors): method, route, status and
/// duration. Never the query string, the body or a header.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        let level: Logger.Level = response.status.code >= 500 ? .error : .debug
        context.logger.log(
            level: level, "request",
            metadata: [
                "http.method": .string(request.method.rawValue),
                "http.route": .string(context.endpointPath ?? "unmatched"),
                "http.status": .stringConvertible(response.status.code),
                "duration.ms": .stringConvertible(
                    Int(elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000)),
            ])
        return response
    }
}

/// Adds `Server-Time` to every answer: the clock the rules use (the test clock in test mode),
/// with millisecond precision. `Date` stays the HTTP server's wall clock, which only differs
/// in test mode.
struct ServerTimeMiddleware<Context: RequestContext>: RouterMiddleware {
    let clock: ServerClock

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[.serverTime] = RFC3339.string(clock.now())
        return response
    }
}

extension Request {
    /// The JSON body decoded as `T`, and its raw bytes (for idempotency hashing).
    /// - Throws: `body_too_large` (413), `malformed_json` (400) or `invalid_request` (422) naming
    ///   the field, never quoting its value.
    mutating func decode<T: Decodable>(_ type: T.Type, limit: Int) async throws -> (T, Data) {
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limit: limit)
        }
        let data = Data(buffer.readableBytesView)
        do {
            return (try JSONDecoder().decode(T.self, from: data), data)
        } catch DecodingError.keyNotFound(let key, let context) {
            throw APIError.invalidRequest("missing field \(Self.path(context.codingPath + [key]))")
        } catch DecodingError.typeMismatch(_, let context) {
            throw APIError.invalidRequest("field \(Self.path(context.codingPath)) has the wrong type")
        } catch DecodingError.valueNotFound(_, let context) {
            throw APIError.invalidRequest("field \(Self.path(context.codingPath)) must not be null")
        } catch {
            throw APIError.malformedJSON
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "(body)" : keys.map(\.stringValue).joined(separator: ".")
    }

    /// SHA-256 of what makes two requests "the same" for an idempotency key: method, path and
    /// the body as canonical JSON (keys sorted), so a retry that serialises the same values in
    /// another key order is still the same request.
    func fingerprint(body: Data) -> String {
        Self.fingerprint(method: method.rawValue, path: uri.path, body: body)
    }

    /// The fingerprint of a request with this method, path and body.
    static func fingerprint(method: String, path: String, body: Data) -> String {
        if let object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]),
            let canonical = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])
        {
            return fingerprint(method: method, path: path, canonicalBody: canonical)
        }
        return fingerprint(method: method, path: path, canonicalBody: body)
    }

    /// The fingerprint of a request whose body is already canonical (keys sorted, as
    /// `JSONSerialization` writes them), or empty: an action in a batch, so that it and its own
    /// request are the same request for its key.
    static func fingerprint(method: String, path: String, canonicalBody: Data) -> String {
        var hasher = SHA256()
        hasher.update(data: Data("\(method) \(path)\n".utf8))
        hasher.update(data: canonicalBody)
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(64)
        for byte in hasher.finalize() {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}

extension Response {
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let serverTime = HTTPField.Name("Server-Time")!
}
