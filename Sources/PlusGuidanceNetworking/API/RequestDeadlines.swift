import Foundation

/// How long one API call may take in all — every attempt, every wait between attempts, a
/// trickling or silent server included — before it fails with `unreachable` (`timeout`).
///
/// The defaults suit a kiosk on a slow but working network, and a server under load (a sign-in
/// hashes a password, which a busy server queues): they end a call that cannot succeed, not one
/// that is merely slow. Per-attempt limits of ``HTTPClientConfiguration`` still apply inside.
public struct RequestDeadlines: Sendable, Hashable {
    /// Sign-in, token refresh and sign-out (password hashing on the server takes its time).
    public var signIn: Duration = .seconds(60)
    /// A read: a feed page, a list, one record.
    public var read: Duration = .seconds(30)
    /// An action: a message, an offer, an answer, a stop, a read receipt.
    public var action: Duration = .seconds(30)
    /// Until the event stream's answer head arrives; once open, the live session's heartbeat
    /// timeout watches it.
    public var streamConnect: Duration = .seconds(15)

    public init() {}

    /// The same limit for every kind of call.
    public init(all limit: Duration) {
        signIn = limit
        read = limit
        action = limit
        streamConnect = limit
    }

    /// What a request is, for its deadline.
    public enum Kind: Sendable, Hashable {
        case signIn, read, action, streamConnect
    }

    public subscript(kind: Kind) -> Duration {
        switch kind {
        case .signIn: signIn
        case .read: read
        case .action: action
        case .streamConnect: streamConnect
        }
    }

    /// The kind of a call to the PlusGuidance API, from its method and path.
    static func kind(of request: HTTPRequest) -> Kind {
        if request.url.path.contains("/v1/auth/") { return .signIn }
        if request.url.path.hasSuffix("/v1/events") { return .streamConnect }
        return request.method == .get || request.method == .head ? .read : .action
    }
}
