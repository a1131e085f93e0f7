import Foundation

/// One event of a `text/event-stream`.
public struct ServerSentEvent: Hashable, Sendable {
    /// The `event:` field; "message" when absent.
    public var type: String
    /// The `data:` lines joined by newlines.
    public var data: String
    /// The last event id seen so far in the stream (it persists across events).
    public var lastEventID: String
    /// A `retry:` field in the same block, in milliseconds.
    public var retry: Int?

    public init(type: String = "message", data: String, lastEventID: String = "", retry: Int? = nil) {
        self.type = type
        self.data = data
        self.lastEventID = lastEventID
        self.retry = retry
    }
}

/// What the parser found in the bytes fed to it.
public enum ServerSentEventItem: Hashable, Sendable {
    case event(ServerSentEvent)
    /// A comment line (`: heartbeat`): proof the connection is alive.
    case comment(String)
    /// A `retry:` field outside an event block.
    case retry(Int)
}

/// An incremental parser for `text/event-stream` (WHATWG HTML, "Server-sent events", §9.2.6),
/// fed with chunks cut anywhere, even inside a line or a UTF-8 character.
///
/// ```swift
/// var parser = ServerSentEventParser()
/// for try await chunk in response.body {
///     for item in parser.feed(chunk) { handle(item) }
/// }
/// ```
///
/// A line longer than ``maximumLineBytes`` or an event whose data grows past
/// ``maximumEventBytes`` makes ``feed(_:)`` throw ``Overflow``: a stream that never ends its
/// line cannot grow memory without bound. The caller drops the connection and opens another.
public struct ServerSentEventParser: Sendable {
    /// A line or an event past the parser's bounds.
    public struct Overflow: Error, Hashable, Sendable, CustomStringConvertible {
        public var limit: Int
        public init(limit: Int) { self.limit = limit }
        public var description: String { "an event-stream line or event over \(limit) bytes" }
    }

    /// The longest line accepted: far above any change the API sends (a message is at most 8 KiB).
    public var maximumLineBytes = 256 << 10
    /// The most data one event may gather over its lines.
    public var maximumEventBytes = 1 << 20
    private var eventBytes = 0
    private var pending = Data()
    private var sawCR = false
    private var startOfStream = true
    private var eventType = ""
    private var dataLines: [String] = []
    private var hasData = false
    private var lastEventID = ""
    private var retry: Int?

    /// - Parameter lastEventID: the id to start from when resuming a stream.
    public init(lastEventID: String = "") { self.lastEventID = lastEventID }

    /// The id of the last event seen (for `Last-Event-ID` on reconnect).
    public var currentLastEventID: String { lastEventID }

    /// Feeds bytes and returns what they completed.
    /// - Throws: ``Overflow`` past ``maximumLineBytes`` or ``maximumEventBytes``; the parser is
    ///   of no further use then.
    public mutating func feed(_ chunk: Data) throws(Overflow) -> [ServerSentEventItem] {
        var items: [ServerSentEventItem] = []
        for byte in chunk {
            if sawCR {
                sawCR = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\r"):
                sawCR = true
                line(&items)
            case UInt8(ascii: "\n"):
                line(&items)
            default:
                guard pending.count < maximumLineBytes else { throw Overflow(limit: maximumLineBytes) }
                pending.append(byte)
            }
        }
        guard eventBytes <= maximumEventBytes else { throw Overflow(limit: maximumEventBytes) }
        return items
    }

    /// Dispatches what a stream that just ended left unterminated. Per the spec an incomplete
    /// event is discarded, so this only clears state.
    public mutating func finish() {
        pending = Data()
        dataLines = []
        eventBytes = 0
        hasData = false
        eventType = ""
        retry = nil
    }

    private mutating func line(_ items: inout [ServerSentEventItem]) {
        var bytes = pending
        pending = Data()
        if startOfStream {
            startOfStream = false
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.isEmpty {
            dispatch(&items)
            return
        }
        if text.hasPrefix(":") {
            var comment = text.dropFirst()
            if comment.hasPrefix(" ") { comment = comment.dropFirst() }
            items.append(.comment(String(comment)))
            return
        }
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = Substring(text)
            value = ""
        }
        switch field {
        case "event": eventType = String(value)
        case "data":
            dataLines.append(String(value))
            eventBytes += value.utf8.count + 1
            hasData = true
        case "id": if !value.contains("\u{0}") { lastEventID = String(value) }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ $0.isASCII && $0.isNumber }), let milliseconds = Int(value) {
                retry = milliseconds
            }
        default: break
        }
    }

    private mutating func dispatch(_ items: inout [ServerSentEventItem]) {
        defer {
            dataLines = []
            eventBytes = 0
            hasData = false
            eventType = ""
            retry = nil
        }
        guard hasData else {
            if let retry { items.append(.retry(retry)) }
            return
        }
        items.append(
            .event(
                ServerSentEvent(
                    type: eventType.isEmpty ? "message" : eventType, data: dataLines.joined(separator: "\n"),
                    lastEventID: lastEventID, retry: retry)))
    }
}
