import Foundation
import HTTPTypes
import Hummingbird
import Logging
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

/// An error answer of the API: an `application/problem+json` document (RFC 9457) with the stable
/// `code` member clients branch on. Details never contain message bodies, tokens or passwords.
struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    var code: String
    var title: String
    var detail: String?
    var headers: HTTPFields = [:]

    var description: String { "\(status.code) \(code)" }

    init(_ status: HTTPResponse.Status, _ code: String, _ title: String, detail: String? = nil) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
    }

    init(_ error: DomainError) {
        let status: HTTPResponse.Status =
            switch error.category {
            case .invalidInput: .unprocessableContent
            case .forbidden: .forbidden
            case .conflict: .conflict
            case .notFound: .notFound
            }
        self.init(status, error.code, error.shortDescription, detail: error.detail)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let answer = try stored()
        var headers = self.headers
        headers[.contentType] = answer.contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    static let unauthorized: APIError = {
        var error = APIError(.unauthorized, "unauthorized", "Authentication required")
        error.headers[.wwwAuthenticate] = "Bearer"
        return error
    }()
    static let tokenExpired: APIError = {
        var error = APIError(.unauthorized, "token_expired", "The access token has expired")
        error.headers[.wwwAuthenticate] = #"Bearer error="invalid_token""#
        return error
    }()
    static let invalidCredentials = APIError(.unauthorized, "invalid_credentials", "Wrong e-mail or password")
    static let invalidRefreshToken = APIError(.unauthorized, "invalid_refresh_token", "The refresh token is not valid")
    static let notFound = APIError(.notFound, "not_found", "Not found")
    static let cursorTooOld = APIError(
        .gone, "cursor_too_old", "The cursor is too old or unknown",
        detail: "Resynchronise: fetch the feed again without a cursor")
    static let idempotencyKeyRequired = APIError(
        .badRequest, "idempotency_key_required", "This request needs an Idempotency-Key header")
    static let idempotencyKeyReused = APIError(
        .unprocessableContent, "idempotency_key_reused",
        "This Idempotency-Key was used with a different request")
    static let malformedJSON = APIError(.badRequest, "malformed_json", "The request body is not valid JSON")
    static let messageIDTaken = APIError(.conflict, "message_id_taken", "This message id is already used")
    static let internalError = APIError(.internalServerError, "internal_error", "Internal server error")

    static func tooManySignIns(retryAfter seconds: Int) -> APIError {
        var error = APIError(
            .tooManyRequests, "too_many_attempts", "Too many sign-in attempts",
            detail: "Try again in \(seconds) s")
        error.headers[.retryAfter] = "\(seconds)"
        return error
    }

    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "body_too_large", "The request body is too large", detail: "at most \(limit) bytes")
    }

    static func invalidRequest(_ detail: String) -> APIError {
        APIError(.unprocessableContent, "invalid_request", "The request is not valid", detail: detail)
    }
}

/// Turns every error into a problem document: the API's own, Hummingbird's (unknown routes,
/// wrong methods) and unexpected ones (500, logged without detail that could hold data).
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as DomainError {
            return try APIError(error).response(from: request, context: context)
        } catch let error as HTTPError {
            let code: String =
                switch error.status {
                // The router found no route: a wrong path, not a missing record.
                case .notFound: "no_such_endpoint"
                case .methodNotAllowed: "method_not_allowed"
                case .contentTooLarge: "body_too_large"
                case .badRequest: "bad_request"
                default: "http_\(error.status.code)"
                }
            return try APIError(error.status, code, error.status.reasonPhrase).response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            return try APIError.internalError.response(from: request, context: context)
        }
    }
}

extension APIError {
    /// The refusal as stored for `Idempotency-Key` replays: its problem document (RFC 9457).
    func stored() throws -> StoredAnswer {
        let problem = ProblemWire(
            type: "https://plusguidance.example/problems/\(code)", title: title, status: Int(status.code),
            detail: detail, code: code)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return StoredAnswer(
            status: Int(status.code), contentType: "application/problem+json", body: try encoder.encode(problem))
    }
}
