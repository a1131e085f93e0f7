import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

/// A command's answer, stated once: the JSON value of BRIEF.md's contract and the text lines
/// for people. ``print(json:)`` prints the one the user asked for.
struct Answer {
    var json: Any
    var text: [String]

    init(json: Any, text: [String]) {
        self.json = json
        self.text = text
    }

    init(json: Any, text: String) { self.init(json: json, text: [text]) }

    func print(json asJSON: Bool) throws {
        if asJSON {
            let data = try JSONSerialization.data(
                withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes])
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        } else if !text.isEmpty {
            FileHandle.standardOutput.write(Data((text.joined(separator: "\n") + "\n").utf8))
        }
    }
}

/// The JSON shapes of BRIEF.md's command-line contract (camelCase keys).
enum JSONOutput {
    static func time(_ date: Date?) -> Any { date.map(WireDecoding.timeString) ?? NSNull() }

    static func message(_ m: Message) -> [String: Any] {
        var object: [String: Any] = [
            "id": m.id.rawValue, "senderId": m.senderID.rawValue, "recipientId": m.recipientID.rawValue,
            "kind": m.kind.rawValue, "body": m.body, "createdAt": time(m.createdAt),
            "deliveryState": m.deliveryState.rawValue, "readAt": time(m.readAt),
        ]
        if let offer = m.offerID { object["offerId"] = offer.rawValue }
        if let session = m.sessionID { object["sessionId"] = session.rawValue }
        return object
    }

    static func offer(_ o: SessionOffer) -> [String: Any] {
        [
            "id": o.id.rawValue, "therapistId": o.therapistID.rawValue, "clientId": o.clientID.rawValue,
            "type": o.type.rawValue, "durationMinutes": o.durationMinutes,
            "requiresConfirmation": o.requiresConfirmation,
            "state": o.state.rawValue, "createdAt": time(o.createdAt), "expiresAt": time(o.expiresAt),
            "sessionId": o.sessionID.map { $0.rawValue as Any } ?? NSNull(),
        ]
    }

    static func session(_ s: Session, _ countdown: SessionCountdown) -> [String: Any] {
        [
            "id": s.id.rawValue, "therapistId": s.therapistID.rawValue, "clientId": s.clientID.rawValue,
            "type": s.type.rawValue, "startsAt": time(s.startsAt), "durationMinutes": s.durationMinutes,
            "state": countdown.state.rawValue, "remainingSeconds": countdown.remainingSeconds,
            "overtimeSeconds": countdown.overtimeSeconds,
        ]
    }

    static func client(_ c: Contact) -> [String: Any] {
        [
            "id": c.id.rawValue, "email": c.user.email, "name": c.user.name, "online": c.presence.isOnline,
            "unread": c.unread,
        ]
    }

    static func user(_ u: User) -> [String: Any] { ["id": u.id.rawValue, "email": u.email, "role": u.role.rawValue] }

    static func status(_ s: SyncStatus) -> [String: Any] {
        [
            "online": s.isOnline, "lastSyncAt": time(s.lastSuccessfulSync), "pendingOutbox": s.pendingOutbox,
            "failedOutbox": s.failedOutbox,
        ]
    }

    static func outbox(_ e: OutboxEntry) -> [String: Any] {
        let action: String =
            switch e.action {
            case .sendMessage: "send"
            case .acceptOffer: "accept"
            case .declineOffer: "decline"
            case .stopSession: "stop"
            case .markRead: "read"
            case .unreadable: "unreadable"
            }
        return [
            "id": e.id.rawValue, "action": action, "state": e.state.rawValue, "attempts": e.attempts,
            "error": e.lastError.map { ["code": $0.code, "reason": $0.reason] as Any } ?? NSNull(),
            "enqueuedAt": time(e.enqueuedAt),
        ]
    }
}

/// Text for people: the local zone, minutes, and nothing a peer wrote can drive the terminal.
enum Human {
    /// Said under countdowns while this boot has no estimate of the server's time (R12).
    static let serverTimeUnknown =
        "(by this device's clock: the server's time is not known since the device started; it is once the server answers)"
    /// `2026-12-02 18:44` in the local time zone (`TZ`, else `/etc/localtime`): the same in
    /// every locale, so scripts can read it, and made with `localtime_r` instead of ICU, whose
    /// first formatting (loading a locale's patterns) cost a `pg messages` 3 ms.
    static func time(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var local = tm()
        guard localtime_r(&seconds, &local) != nil else { return WireDecoding.timeString(date) }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(local.tm_year + 1_900)-\(two(local.tm_mon + 1))-\(two(local.tm_mday)) \(two(local.tm_hour)):\(two(local.tm_min))"
    }

    /// `text` with every control character (CR, ESC, OSC, DEL, C1, line and paragraph
    /// separators, bidi overrides) shown as a visible escape, so a message cannot forge a line
    /// or retitle the terminal.
    static func safe(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let control =
                value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
                || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
            if control {
                out += value == 0x0A ? "\\n" : String(format: "\\u{%X}", value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `12:31 left` or `+03:10 overtime`, as the session window shows it.
    static func countdown(_ c: SessionCountdown) -> String {
        // Minutes and seconds up to a day (`75:27`), days and hours beyond (a far `startsAt`);
        // never `String(format: "%d")`, whose 32 bits wrapped a far time into a negative count.
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        func clock(_ seconds: Int) -> String {
            seconds < 86_400
                ? "\(two(seconds / 60)):\(two(seconds % 60))"
                : "\(seconds / 86_400) d \(two(seconds % 86_400 / 3_600)) h"
        }
        switch c.state {
        case .ended: return "ended"
        case .scheduled: return "starts in \(clock(c.startsInSeconds))"
        case .inProgress:
            return c.isOvertime ? "+\(clock(c.overtimeSeconds)) overtime" : "\(clock(c.remainingSeconds)) left"
        }
    }

    static func message(_ m: Message, me: UserID) -> String {
        let who = m.senderID == me ? "you" : "them"
        var state = m.deliveryState == .sent ? "" : " [\(m.deliveryState.rawValue)]"
        if m.senderID == me, let readAt = m.readAt { state += " [read \(time(readAt))]" }
        let label = m.kind == .text ? "" : " (\(m.kind.rawValue))"
        return "\(time(m.createdAt))  \(who)\(label): \(safe(m.body))\(state)"
    }
}
