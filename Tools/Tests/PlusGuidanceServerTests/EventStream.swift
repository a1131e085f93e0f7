import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One server-sent event as received.
struct ReceivedEvent: Sendable {
    var id: String?
    var event: String?
    var data: String
}

/// Reads `/v1/events` in the background and keeps what arrives, for tests. A deliberately small
/// line parser: the SDK's own SSE parser is tested on its own.
final class EventStream: Sendable {
    /// Its own client: event streams hold their connection, and the shared client allows only
    /// 8 connections per host.
    static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)))

    private actor Box {
        var events: [ReceivedEvent] = []
        var comments = 0
        var opened = false
        var status: Int?
        func add(_ event: ReceivedEvent) { events.append(event) }
        func comment() { comments += 1 }
        func open(_ status: Int) {
            self.status = status
            opened = true
        }
    }

    private let box = Box()
    private let task: Task<Void, Never>

    init(api: TestAPI, token: String, lastEventID: String? = nil) {
        let box = self.box
        task = Task {
            var request = HTTPClientRequest(url: api.base.absoluteString + "/v1/events")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
            do {
                let response = try await EventStream.client.execute(request, timeout: .seconds(600))
                await box.open(Int(response.status.code))
                var pending = ""
                var current = ReceivedEvent(data: "")
                var dataLines: [String] = []
                for try await chunk in response.body {
                    pending += String(buffer: chunk)
                    while let newline = pending.firstIndex(of: "\n") {
                        let line = String(pending[..<newline])
                        pending.removeSubrange(...newline)
                        if line.isEmpty {
                            if !dataLines.isEmpty {
                                current.data = dataLines.joined(separator: "\n")
                                await box.add(current)
                            }
                            current = ReceivedEvent(data: "")
                            dataLines = []
                        } else if line.hasPrefix(":") {
                            await box.comment()
                        } else if line.hasPrefix("id: ") {
                            current.id = String(line.dropFirst(4))
                        } else if line.hasPrefix("event: ") {
                            current.event = String(line.dropFirst(7))
                        } else if line.hasPrefix("data: ") {
                            dataLines.append(String(line.dropFirst(6)))
                        }
                    }
                }
            } catch {}
        }
    }

    func close() { task.cancel() }

    var status: Int? { get async { await box.status } }
    var events: [ReceivedEvent] { get async { await box.events } }
    var heartbeats: Int { get async { await box.comments } }

    func waitUntilOpen() async throws {
        try await wait { await self.box.opened }
    }

    /// Waits (up to 10 s) until `condition` holds.
    func wait(_ condition: @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for the event stream") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until `count` change events arrived, and returns them.
    func changes(count: Int) async throws -> [ReceivedEvent] {
        try await wait { await self.box.events.filter { $0.event == "change" }.count >= count }
        return await box.events.filter { $0.event == "change" }
    }
}
