import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// An `application/problem+json` error answer (RFC 9457), as every PlusGuidance API error is.
///
/// The API adds a stable `code` member; ``domainError`` maps it back to the `DomainError` the
/// server's rules raised, so an app branches on the same value offline and online.
public struct ProblemDocument: Hashable, Sendable, Codable {
    /// A URI naming the problem type.
    public var type: String?
    /// A short, constant summary of the problem type.
    public var title: String?
    /// The HTTP status code.
    public var status: Int?
    /// A human explanation of this occurrence. Servers never put message bodies here.
    public var detail: String?
    /// The stable machine-readable code, e.g. `client_offline` or `cursor_too_old`.
    public var code: String?

    public init(
        type: String? = nil, title: String? = nil, status: Int? = nil, detail: String? = nil, code: String? = nil
    ) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
    }

    /// The media type of problem documents.
    public static let mediaType = "application/problem+json"

    /// Decodes a problem document, or `nil` when `data` is not one: malformed answers must never
    /// crash a client, and members of the wrong type are treated as absent.
    public static func decode(_ data: Data) -> ProblemDocument? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return ProblemDocument(
            type: object["type"] as? String, title: object["title"] as? String,
            status: (object["status"] as? NSNumber).flatMap { Int(exactly: $0.doubleValue) },
            detail: object["detail"] as? String, code: object["code"] as? String)
    }

    /// The Domain refusal this problem reports, when its code is one of the Domain's.
    public var domainError: DomainError? {
        code.flatMap { DomainError(code: $0, detail: detail) }
    }
}
