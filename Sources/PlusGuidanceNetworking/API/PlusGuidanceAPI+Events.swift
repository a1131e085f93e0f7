import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

// The live event stream (server-sent events).
extension PlusGuidanceAPI {
    /// The live event stream, resuming after `lastEventID`. Ends when the connection does; the
    /// caller reconnects (with the last cursor it saw) and catches up from the feed.
    public func events(after lastEventID: FeedCursor?) async throws -> AsyncThrowingStream<LiveEvent, any Error> {
        var extraHeaders = [("Accept", "text/event-stream")]
        if let lastEventID { extraHeaders.append(("Last-Event-ID", lastEventID.rawValue)) }
        let headers = extraHeaders
        let eventsURL = url("/v1/events")
        let http = self.http
        let connectLimit = deadlines.streamConnect
        let response = try await withFreshToken { token in
            // No total timeout (the stream stays open), but its head must come in time.
            let request = HTTPRequest(
                url: eventsURL, headers: headers + [("Authorization", "Bearer \(token)")], totalTimeout: .zero)
            do {
                return try await withTimeLimit(connectLimit) { try await http.stream(request) }
            } catch let error as HTTPClientError {
                throw PlusGuidanceAPIError.unreachable(error)
            }
        } status: {
            $0.status
        }
        guard response.status == 200 else {
            var body = Data()
            for try await chunk in response.body { body.append(chunk) }
            throw error(status: response.status, body: body)
        }
        return AsyncThrowingStream { continuation in
            let task = Task {
                var parser = ServerSentEventParser(lastEventID: lastEventID?.rawValue ?? "")
                do {
                    for try await chunk in response.body {
                        for item in try parser.feed(chunk) {
                            if let event = try Self.liveEvent(item) { continuation.yield(event) }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in
                task.cancel()
                response.body.cancel()
            }
        }
    }

    static func liveEvent(_ item: ServerSentEventItem) throws -> LiveEvent? {
        switch item {
        case .comment: return .heartbeat
        case .retry: return nil
        case .event(let event):
            let data = Data(event.data.utf8)
            switch event.type {
            case "change":
                let change = try decode(ChangeWire.self, from: data) { wire throws(WireError) in try wire.domain() }
                return .change(change, cursor: FeedCursor(event.lastEventID))
            case "presence":
                let (user, online) = try decode(PresenceWire.self, from: data) { wire throws(WireError) in
                    try wire.domain()
                }
                return .presence(user, online: online)
            case "time":
                return .time(
                    try decode(ClockWire.self, from: data) { wire throws(WireError) in
                        try WireContract.time(wire.now, "now")
                    })
            default: return nil
            }
        }
    }
}
