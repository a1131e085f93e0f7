import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A reference server that misbehaves on request: an HTTP proxy on loopback in front of a real
/// `pg-server` that, request by request, forwards the answer, rewrites its body (values out of
/// the contract's ranges, wrong types, missing members), trickles it, never answers, cuts it
/// short, or answers the event stream with a line that never ends. For integrators to test what
/// their app does against a hostile or broken server, and for the SDK's own hardening tests.
///
/// ```swift
/// let hostile = try HostileServer(upstream: server.url) { request in
///     request.path.hasPrefix("/v1/changes") ? .trickle(every: .seconds(1)) : .forward
/// }
/// // point pg or the SDK at hostile.url
/// ```
///
/// Every answer goes out with `Connection: close`, so each request is judged on its own. A rule
/// can be replaced while the server runs (``setRule(_:)``).
public final class HostileServer: @unchecked Sendable {
    // @unchecked: `rule`, `stopped`, `connections` and `seen` are only touched under `lock`; the
    // listening descriptor and `upstreamPort` are immutable after init.

    /// What to do with one request.
    public enum Behaviour: Sendable {
        /// Pass the request on and the answer back, as they are.
        case forward
        /// Pass the request on; answer with the server's status and headers and `body(original)`.
        case rewrite(@Sendable (Data) -> Data)
        /// Pass the request on; send the server's answer one byte at a time, `every` apart.
        case trickle(every: Duration)
        /// Read the request and never answer (headers that never come).
        case stallHeaders
        /// Announce the whole body, send half of it, close.
        case cutBody
        /// Answer `200 text/event-stream`, then one `data:` line that never ends, as fast as it
        /// is read.
        case endlessEventLine
        /// Pass the request on; answer with the server's status and body and the headers
        /// `edit` makes of the server's (framing headers are set again after it).
        case editHeaders(@Sendable ([(name: String, value: String)]) -> [(name: String, value: String)])
        /// Answer with this status, content type and body, without asking the server.
        case answer(status: Int, contentType: String, body: Data)
    }

    /// A request as the rule sees it.
    public struct Request: Sendable {
        public var method: String
        /// The path with its query, e.g. `/v1/changes?after=12`.
        public var path: String
        public var headers: [(name: String, value: String)]
    }

    public let url: URL
    private let upstreamPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var rule: @Sendable (Request) -> Behaviour
    private var stopped = false
    private var connections: Set<Int32> = []
    private var seen: [String] = []

    public init(upstream: URL, rule: @escaping @Sendable (Request) -> Behaviour = { _ in .forward }) throws {
        upstreamPort = upstream.port ?? 80
        self.rule = rule
        let (fd, port) = try LoopbackSocket.listen()
        listener = fd
        url = URL(string: "http://127.0.0.1:\(port)")!
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// Replaces the rule for the requests that arrive from now on.
    public func setRule(_ rule: @escaping @Sendable (Request) -> Behaviour) { lock.withLock { self.rule = rule } }

    /// The `METHOD path` of every request so far, in order of arrival.
    public var requests: [String] { lock.withLock { seen } }

    /// Stops listening and cuts every open connection.
    public func stop() {
        let open = lock.withLock { () -> Set<Int32>? in
            guard !stopped else { return nil }
            stopped = true
            return connections
        }
        guard let open else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        for client in open { shutdown(client, Int32(SHUT_RDWR)) }
    }

    /// Rewrites a JSON answer: `edit` gets the decoded object and changes it in place. Bodies
    /// that are not a JSON object pass unchanged.
    public static func editJSON(_ edit: @escaping @Sendable (inout [String: Any]) -> Void) -> Behaviour {
        .rewrite { body in
            guard var object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return body }
            edit(&object)
            return (try? JSONSerialization.data(withJSONObject: object)) ?? body
        }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client >= 0 { LoopbackSocket.forwardAtOnce(client) }
            guard client >= 0 else { break }
            lock.withLock { _ = connections.insert(client) }
            let thread = Thread { [self] in
                serve(client)
                lock.withLock { _ = connections.remove(client) }
                shutdown(client, Int32(SHUT_RDWR))
                close(client)
            }
            thread.start()
        }
        close(listener)
    }

    private func serve(_ client: Int32) {
        guard let (head, body) = Self.readMessage(client, isRequest: true),
            let request = Self.parseRequest(head)
        else { return }
        let behaviour = lock.withLock { () -> Behaviour in
            seen.append("\(request.method) \(request.path)")
            return rule(request)
        }
        switch behaviour {
        case .stallHeaders:
            while !isStopped, !LoopbackSocket.receive(client).isEmpty {}
        case .endlessEventLine:
            guard LoopbackSocket.send(client, Array(Self.head(200, ["Content-Type": "text/event-stream"]).utf8)),
                LoopbackSocket.send(client, Array("data: ".utf8))
            else { return }
            let filler = [UInt8](repeating: UInt8(ascii: "x"), count: 65_536)
            while !isStopped, LoopbackSocket.send(client, filler) {}
        case .answer(let status, let contentType, let body):
            let head = Self.head(status, ["Content-Type": contentType, "Content-Length": "\(body.count)"])
            LoopbackSocket.send(client, Array(head.utf8) + Array(body))
        case .forward where request.path.hasPrefix("/v1/events"):
            relayStream(request: head, body: body, to: client)
        case .forward, .rewrite, .trickle, .cutBody, .editHeaders:
            guard let answer = exchange(head: head, body: body) else { return }
            var payload = answer.body
            if case .rewrite(let edit) = behaviour { payload = Array(edit(Data(payload))) }
            var headers = answer.headers
            if case .editHeaders(let edit) = behaviour { headers = edit(headers) }
            headers = headers.filter {
                !["content-length", "transfer-encoding", "connection"].contains($0.name.lowercased())
            }
            headers.append(("Content-Length", "\(payload.count)"))
            let bytes = Array(Self.head(answer.status, headers).utf8) + payload
            switch behaviour {
            case .trickle(let every):
                for byte in bytes {
                    guard !isStopped, LoopbackSocket.send(client, [byte]) else { return }
                    Thread.sleep(
                        forTimeInterval: Double(every.components.seconds) + Double(every.components.attoseconds) / 1e18)
                }
            case .cutBody:
                LoopbackSocket.send(client, bytes.prefix(bytes.count - payload.count / 2 - 1))
            default:
                LoopbackSocket.send(client, bytes)
            }
        }
    }

    /// Passes a request on and the server's bytes back as they come (an event stream).
    private func relayStream(request head: String, body: [UInt8], to client: Int32) {
        guard let upstream = LoopbackSocket.connect(port: upstreamPort) else { return }
        defer { close(upstream) }
        guard LoopbackSocket.send(upstream, Array(Self.closing(head).utf8) + body) else { return }
        while !isStopped {
            let chunk = LoopbackSocket.receive(upstream)
            guard !chunk.isEmpty, LoopbackSocket.send(client, chunk) else { break }
        }
        shutdown(upstream, Int32(SHUT_RDWR))
    }

    private struct Answer {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]
    }

    /// One request to the real server, read to its end.
    private func exchange(head: String, body: [UInt8]) -> Answer? {
        guard let upstream = LoopbackSocket.connect(port: upstreamPort) else { return nil }
        defer { close(upstream) }
        guard LoopbackSocket.send(upstream, Array(Self.closing(head).utf8) + body),
            let (answerHead, answerBody) = Self.readMessage(upstream, isRequest: false)
        else { return nil }
        let lines = answerHead.components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        return Answer(status: status, headers: Self.headers(lines.dropFirst()), body: answerBody)
    }

    // MARK: - HTTP/1.1, just enough

    /// A head's lines with `Connection: close` in place of any `Connection` or `Accept-Encoding`
    /// field (answers stay uncompressed, so rules can read them).
    private static func closing(_ head: String) -> String {
        var lines = head.components(separatedBy: "\r\n").filter {
            let name = $0.split(separator: ":").first?.lowercased() ?? ""
            return name != "connection" && name != "accept-encoding"
        }
        lines.append("Connection: close")
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    private static func head(_ status: Int, _ fields: KeyValuePairs<String, String>) -> String {
        head(status, fields.map { ($0.key, $0.value) })
    }

    private static func head(_ status: Int, _ fields: [(name: String, value: String)]) -> String {
        var text = "HTTP/1.1 \(status) Hostile\r\n"
        for field in fields + [("Connection", "close")] { text += "\(field.name): \(field.value)\r\n" }
        return text + "\r\n"
    }

    private static func headers(_ lines: some Sequence<String>) -> [(name: String, value: String)] {
        lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    private static func parseRequest(_ head: String) -> Request? {
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2 else { return nil }
        return Request(method: String(parts[0]), path: String(parts[1]), headers: headers(lines.dropFirst()))
    }

    /// Reads a head (without its blank line) and its body: `Content-Length` bytes, chunks, or
    /// (for an answer without either) everything until the peer closes.
    private static func readMessage(_ fd: Int32, isRequest: Bool) -> (String, [UInt8])? {
        var buffer: [UInt8] = []
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            let chunk = LoopbackSocket.receive(fd)
            guard !chunk.isEmpty, buffer.count < 1 << 20 else { return nil }
            buffer += chunk
            headEnd = buffer.firstRange(of: separator)?.lowerBound
        }
        guard let headEnd else { return nil }
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        var body = Array(buffer[(headEnd + 4)...])
        let fields = headers(head.components(separatedBy: "\r\n").dropFirst())
        func field(_ name: String) -> String? { fields.first { $0.name.lowercased() == name }?.value }
        if let length = field("content-length").flatMap(Int.init) {
            while body.count < length {
                let chunk = LoopbackSocket.receive(fd)
                guard !chunk.isEmpty else { return nil }
                body += chunk
            }
            return (head, Array(body.prefix(length)))
        }
        if isRequest { return (head, []) }
        while true {
            let chunk = LoopbackSocket.receive(fd)
            if chunk.isEmpty { break }
            body += chunk
        }
        return (head, field("transfer-encoding")?.lowercased() == "chunked" ? dechunk(body) : body)
    }

    private static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while let lineEnd = bytes[index...].firstRange(of: Array("\r\n".utf8))?.lowerBound {
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0,
                lineEnd + 2 + size <= bytes.count
            else { break }
            output += bytes[(lineEnd + 2)..<(lineEnd + 2 + size)]
            index = lineEnd + 2 + size + 2
            guard index < bytes.count else { break }
        }
        return output
    }
}
