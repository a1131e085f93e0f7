import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

extension Routes {
    /// `GET /v1/events`: a `text/event-stream` of the caller's changes, one event per change with
    /// its feed cursor as `id`, presence events for counterparts, a `time` event with the
    /// server's clock when the stream opens and whenever the test clock moves, and a heartbeat
    /// comment every
    /// ``ServerConfiguration/heartbeatInterval`` seconds. `Last-Event-ID` (or `?after=`) resumes
    /// after that cursor; without either the stream starts at the current end of the feed.
    /// While the stream is open the caller counts as online (R2).
    func events(_ request: Request, _ context: APIContext) async throws -> Response {
        let user = try context.requireUser()
        var after = try await store.latestSequence()
        let query = request.uri.queryParameters.get("after").map { String($0) }
        if let resume = request.headers[.lastEventID] ?? query {
            guard let seq = ServerStore.sequence(of: resume), seq <= after else { throw APIError.cursorTooOld }
            // The feed check also refuses cursors older than what was pruned.
            _ = try await store.feed(for: user, after: resume, limit: 1)
            after = seq
        }
        let counterparts = try await store.contacts(of: user).map(\.id)
        let (signals, continuation) = AsyncStream.makeStream(of: LiveSignal.self, bufferingPolicy: .bufferingNewest(32))
        let subscription = await hub.subscribe(user.id, counterparts: counterparts, continuation: continuation)
        let interval = configuration.heartbeatInterval
        let store = self.store
        let hub = self.hub
        let start = after

        let body = ResponseBody { writer in
            let heartbeat = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(Int(interval * 1_000)))
                    continuation.yield(.heartbeat)
                }
            }
            var last = start
            do {
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                try await writer.write(Self.timeEvent(store.clock.now()))
                continuation.yield(.changed)
                for await signal in signals {
                    switch signal {
                    case .changed:
                        while true {
                            let changes = try await store.changes(for: user, after: last)
                            var text = ""
                            for (seq, json) in changes {
                                text += "id: \(ServerStore.cursor(seq))\nevent: change\ndata: \(json)\n\n"
                                last = seq
                            }
                            if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                            if changes.count < 500 { break }
                        }
                    case .presence(let peer, let online):
                        let data = try JSONEncoder().encode(PresenceWire(userId: peer.rawValue, online: online))
                        var event = ByteBuffer(string: "event: presence\ndata: ")
                        event.writeBytes(data)
                        event.writeString("\n\n")
                        try await writer.write(event)
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                    case .clock:
                        try await writer.write(Self.timeEvent(store.clock.now()))
                    }
                }
            } catch {
                // The client went away (a write failed) or the server is shutting down.
            }
            heartbeat.cancel()
            await hub.unsubscribe(subscription, at: store.clock.now())
            try? await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream", .cacheControl: "no-store",
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ],
            body: body)
    }

    /// `event: time` with `{"now": …}`, the server's clock.
    static func timeEvent(_ now: Date) throws -> ByteBuffer {
        var event = ByteBuffer(string: "event: time\ndata: ")
        event.writeBytes(try JSONEncoder().encode(ClockWire(now: now)))
        event.writeString("\n\n")
        return event
    }
}
