import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PlusGuidanceServer
import Testing

/// A reference server on a free loopback port with a fresh SQLite file, the demo seed and the
/// test clock, for the duration of `body`.
func withServer<T: Sendable>(
    database: String? = nil, configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: @Sendable (TestAPI) async throws -> T
) async throws -> T {
    let folder = FileManager.default.temporaryDirectory.path + "/pg-server-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { if database == nil { try? FileManager.default.removeItem(atPath: folder) } }
    var configuration = ServerConfiguration(databasePath: database ?? folder + "/server.sqlite")
    configuration.port = 0
    configuration.seed = .demo
    configuration.testClock = true
    // These tests check exact seconds on a machine under load: the clock moves only by advance.
    configuration.testClockRuns = false
    configuration.passwordCost = .testing
    configuration.heartbeatInterval = 0.2
    configure(&configuration)
    let server = try PlusGuidanceReferenceServer(configuration: configuration)
    let (urls, continuation) = AsyncStream.makeStream(of: URL.self)
    let running = Task { try await server.run { continuation.yield($0) } }
    defer { running.cancel() }
    var iterator = urls.makeAsyncIterator()
    guard let url = await iterator.next() else { throw TestFailure("server did not start") }
    return try await body(TestAPI(base: url))
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An HTTP answer with its JSON decoded loosely, for assertions.
struct Answer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    var json: [String: any Sendable] {
        ((try? JSONSerialization.jsonObject(with: body)) as? [String: any Sendable]) ?? [:]
    }
    var code: String? { json["code"] as? String }
    subscript(key: String) -> String? { json[key] as? String }
    func list(_ key: String) -> [[String: any Sendable]] { (json[key] as? [[String: any Sendable]]) ?? [] }
}

/// A tiny JSON client over AsyncHTTPClient, with the demo accounts' logins.
struct TestAPI: Sendable {
    let base: URL

    func request(
        _ method: HTTPMethod, _ path: String, token: String? = nil, json: Any? = nil, raw: Data? = nil,
        key: String? = nil, headers extra: [(String, String)] = []
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: base.absoluteString + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let key { request.headers.add(name: "Idempotency-Key", value: key) }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        } else if let raw {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: raw))
        }
        // A bound against hangs, not a performance gate: a loaded CI machine is slow.
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView))
    }

    func login(_ name: String) async throws -> String {
        let answer = try await request(
            .POST, "/v1/auth/login", json: ["email": "\(name)@example.com", "password": "\(name)-pass"])
        guard answer.status == 200, let token = answer["accessToken"] else {
            throw TestFailure("login of \(name): \(answer.status)")
        }
        return token
    }

    func advance(_ seconds: Double) async throws {
        let answer = try await request(.POST, "/v1/test/clock/advance", json: ["seconds": seconds])
        guard answer.status == 200 else { throw TestFailure("advance: \(answer.status)") }
    }

    func send(_ token: String, to peer: String, _ text: String, key: String = UUID().uuidString) async throws -> Answer
    {
        try await request(.POST, "/v1/conversations/\(peer)/messages", token: token, json: ["body": text], key: key)
    }

    func offer(
        _ token: String, to client: String = "usr_alice", confirm: Bool = true, minutes: Int = 50,
        key: String = UUID().uuidString
    )
        async throws -> Answer
    {
        try await request(
            .POST, "/v1/offers", token: token,
            json: ["clientId": client, "type": "video", "durationMinutes": minutes, "requiresConfirmation": confirm],
            key: key)
    }

    func feed(
        _ token: String, after cursor: String? = nil, limit: Int = 500, count: String? = nil
    ) async throws
        -> Answer
    {
        var path = "/v1/changes?limit=\(limit)"
        if let cursor { path += "&after=\(cursor)" }
        if let count { path += "&count=\(count)" }
        return try await request(.GET, path, token: token)
    }
}
