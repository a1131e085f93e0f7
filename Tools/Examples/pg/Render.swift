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
    static func safe(_ text: String) -> String { text.visiblyEscaped }

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
