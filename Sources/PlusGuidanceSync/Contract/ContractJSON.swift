import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

/// The JSON shapes of BRIEF.md's command-line contract (camelCase keys), written once for
/// `pg --json`, `pg watch --json` and the C library, so one contract serves all of them.
@_spi(PlusGuidanceTools) public enum ContractJSON {
    public static func time(_ date: Date?) -> Any { date.map(WireDecoding.timeString) ?? NSNull() }

    public static func message(_ m: Message) -> [String: Any] {
        var object: [String: Any] = [
            "id": m.id.rawValue, "senderId": m.senderID.rawValue, "recipientId": m.recipientID.rawValue,
            "kind": m.kind.rawValue, "body": m.body, "createdAt": time(m.createdAt),
            "deliveryState": m.deliveryState.rawValue, "readAt": time(m.readAt),
        ]
        if let offer = m.offerID { object["offerId"] = offer.rawValue }
        if let session = m.sessionID { object["sessionId"] = session.rawValue }
        return object
    }

    /// A message found by a search: the message's object with its `snippet`.
    public static func searchHit(_ hit: SearchHit) -> [String: Any] {
        var object = message(hit.message)
        object["snippet"] = hit.snippet
        return object
    }

    public static func offer(_ o: SessionOffer) -> [String: Any] {
        [
            "id": o.id.rawValue, "therapistId": o.therapistID.rawValue, "clientId": o.clientID.rawValue,
            "type": o.type.rawValue, "durationMinutes": o.durationMinutes,
            "requiresConfirmation": o.requiresConfirmation,
            "state": o.state.rawValue, "createdAt": time(o.createdAt), "expiresAt": time(o.expiresAt),
            "sessionId": o.sessionID.map { $0.rawValue as Any } ?? NSNull(),
        ]
    }

    public static func session(_ s: Session, _ countdown: SessionCountdown) -> [String: Any] {
        [
            "id": s.id.rawValue, "therapistId": s.therapistID.rawValue, "clientId": s.clientID.rawValue,
            "type": s.type.rawValue, "startsAt": time(s.startsAt), "durationMinutes": s.durationMinutes,
            "state": countdown.state.rawValue, "remainingSeconds": countdown.remainingSeconds,
            "overtimeSeconds": countdown.overtimeSeconds,
        ]
    }

    public static func client(_ c: Contact) -> [String: Any] {
        [
            "id": c.id.rawValue, "email": c.user.email, "name": c.user.name, "online": c.presence.isOnline,
            "unread": c.unread,
        ]
    }

    public static func user(_ u: User) -> [String: Any] {
        ["id": u.id.rawValue, "email": u.email, "role": u.role.rawValue]
    }

    public static func status(_ s: SyncStatus) -> [String: Any] {
        [
            "online": s.isOnline, "lastSyncAt": time(s.lastSuccessfulSync), "pendingOutbox": s.pendingOutbox,
            "failedOutbox": s.failedOutbox,
        ]
    }

    public static func outbox(_ e: OutboxEntry) -> [String: Any] {
        let action: String =
            switch e.action {
            case .sendMessage: "send"
            case .acceptOffer: "accept"
            case .declineOffer: "decline"
            case .stopSession: "stop"
            case .markRead: "read"
            case .unreadable: "unreadable"
            }
        var entry: [String: Any] = [
            "id": e.id.rawValue, "action": action, "state": e.state.rawValue, "attempts": e.attempts,
            "error": e.lastError.map { ["code": $0.code, "reason": $0.reason] as Any } ?? NSNull(),
            "enqueuedAt": time(e.enqueuedAt),
        ]
        // What the action is about, so an app can put "Retry" and "Discard" on the right row.
        switch e.action {
        case .sendMessage(let message): entry["messageId"] = message.id.rawValue
        case .acceptOffer(let offer), .declineOffer(let offer): entry["offerId"] = offer.rawValue
        case .stopSession(let session): entry["sessionId"] = session.rawValue
        case .markRead, .unreadable: break
        }
        return entry
    }

    /// One line of `pg watch --json`: `{event, change, and the message, offer, session or client}`.
    public static func event(_ event: AccountEvent, on client: PlusGuidanceClient) async -> [String: Any] {
        switch event {
        case .message(let message, let change):
            return ["event": "message", "change": change.rawValue, "message": Self.message(message)]
        case .offer(let offer, let change):
            return ["event": "offer", "change": change.rawValue, "offer": Self.offer(offer)]
        case .session(let session, let change):
            return [
                "event": "session", "change": change.rawValue,
                "session": Self.session(session, await client.countdown(for: session)),
            ]
        case .presence(let contact):
            return [
                "event": "presence", "change": contact.presence.isOnline ? "online" : "offline",
                "client": Self.client(contact),
            ]
        }
    }

    /// The value as compact UTF-8 JSON with sorted keys (slashes unescaped).
    public static func encoded(_ value: Any) throws -> String {
        let data = try JSONSerialization.data(
            withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }
}
