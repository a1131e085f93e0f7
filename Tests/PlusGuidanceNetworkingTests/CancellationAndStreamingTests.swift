import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import Testing

@Suite struct CancellationTests {
    let client = CurlHTTPClient()

    func outcome(_ task: Task<HTTPResponse, any Error>) async -> HTTPClientError? {
        do {
            _ = try await task.value
            return nil
        } catch {
            return error as? HTTPClientError
        }
    }

    @Test func cancelledBeforeTheTransferStartsItNeverRuns() async throws {
        let url = try await CornerServer.plain.value.url("/echo")
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.execute(HTTPRequest(url: url))
        }
        #expect(await outcome(task) == .cancelled)
    }

    @Test func cancelledWhileWaitingForTheAnswer() async throws {
        let url = try await CornerServer.plain.value.url("/slow?seconds=30")
        let task = Task { try await client.execute(HTTPRequest(url: url)) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        #expect(await outcome(task) == .cancelled)
        // The client keeps working afterwards.
        #expect(try await client.execute(HTTPRequest(url: try await CornerServer.plain.value.url("/ok"))).status == 200)
    }

    @Test func cancelledWhileConnecting() async throws {
        let listener = try SilentListener()
        let task = Task { try await client.execute(HTTPRequest(url: listener.url)) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        #expect(await outcome(task) == .cancelled)
    }

    @Test func cancellingHundredsOfRequestsLeavesNothingBehind() async throws {
        let url = try await CornerServer.plain.value.url("/slow?seconds=30")
        let tasks = (0..<100).map { _ in Task { try await client.execute(HTTPRequest(url: url)) } }
        try await Task.sleep(for: .milliseconds(100))
        tasks.forEach { $0.cancel() }
        for task in tasks { #expect(await outcome(task) == .cancelled) }
    }
}

@Suite struct StreamingTests {
    let client = CurlHTTPClient()

    @Test func serverSentEventsArriveWhateverTheChunking() async throws {
        for chunk in [1, 3, 7, 64, 4_096] {
            let url = try await CornerServer.plain.value.url("/events?count=40&chunk=\(chunk)")
            let response = try await client.stream(HTTPRequest(url: url, totalTimeout: .zero))
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "text/event-stream")
            var parser = ServerSentEventParser()
            var events: [ServerSentEvent] = []
            for try await data in response.body {
                for case .event(let event) in try parser.feed(data) { events.append(event) }
            }
            #expect(events.count == 40, "chunk \(chunk)")
            #expect(events.last?.lastEventID == "39")
            #expect(events.first?.type == "tick")
            #expect(events.last?.data == "xxxxxxxxxx 39")
        }
    }

    @Test func aSlowReaderPausesTheTransferAndLosesNothing() async throws {
        var configuration = HTTPClientConfiguration()
        configuration.streamBufferBytes = 16 << 10
        let small = CurlHTTPClient(configuration: configuration)
        let total = 3 << 20
        // No total limit, as for every stream: what is checked is that nothing is lost, not how
        // fast (under ThreadSanitizer the 60 s default ran out with 2.8 of 3 MiB read).
        let response = try await small.stream(
            HTTPRequest(url: try await CornerServer.plain.value.url("/big?bytes=\(total)"), totalTimeout: .zero))
        var received = 0
        var reads = 0
        var foreign = 0
        for try await chunk in response.body {
            received += chunk.count
            reads += 1
            if reads % 8 == 0 { try await Task.sleep(for: .milliseconds(1)) }
            foreign += chunk.count { $0 != UInt8(ascii: "b") }
        }
        #expect(received == total)
        #expect(foreign == 0)
    }

    @Test func cancellingTheReaderEndsTheStream() async throws {
        let url = try await CornerServer.plain.value.url("/events?count=3&hold=30")
        let response = try await client.stream(HTTPRequest(url: url, totalTimeout: .zero))
        let reader = Task {
            var parser = ServerSentEventParser()
            var seen = 0
            for try await data in response.body {
                seen += try parser.feed(data).count
            }
            return seen
        }
        try await Task.sleep(for: .milliseconds(300))
        reader.cancel()
        do {
            _ = try await reader.value
            Issue.record("the stream should have failed with cancelled")
        } catch let error as HTTPClientError {
            #expect(error == .cancelled)
        }
    }

    @Test func streamingAnErrorStatusStillGivesTheHead() async throws {
        let response = try await client.stream(HTTPRequest(url: try await CornerServer.plain.value.url("/status/401")))
        #expect(response.status == 401)
        var body = Data()
        for try await chunk in response.body { body.append(chunk) }
        #expect(ProblemDocument.decode(body)?.status == 401)
    }
}

@Suite struct TLSTests {
    @Test func aSelfSignedServerIsRefusedByDefault() async throws {
        let server = try await CornerServer.tls.value
        do {
            _ = try await CurlHTTPClient().execute(HTTPRequest(url: server.url("/ok")))
            Issue.record("an untrusted certificate was accepted")
        } catch let error as HTTPClientError {
            #expect(error == .tlsFailure)
        }
    }

    @Test func itIsAcceptedWithItsCAConfigured() async throws {
        let server = try await CornerServer.tls.value
        var configuration = HTTPClientConfiguration()
        configuration.caBundlePath = server.certificatePath
        let response = try await CurlHTTPClient(configuration: configuration).execute(
            HTTPRequest(url: server.url("/ok")))
        #expect(response.status == 200)
        #expect(try #require(response.timings).tlsHandshake > .zero)
    }

    @Test func thePinMustMatch() async throws {
        let server = try await CornerServer.tls.value
        var configuration = HTTPClientConfiguration()
        configuration.caBundlePath = server.certificatePath
        configuration.pinnedPublicKeys = server.pin
        #expect(
            try await CurlHTTPClient(configuration: configuration).execute(HTTPRequest(url: server.url("/ok"))).status
                == 200)
        configuration.pinnedPublicKeys = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        do {
            _ = try await CurlHTTPClient(configuration: configuration).execute(HTTPRequest(url: server.url("/ok")))
            Issue.record("a wrong pin was accepted")
        } catch let error as HTTPClientError {
            #expect(error == .pinMismatch)
        }
    }
}

@Suite struct RetryPolicyTests {
    final class Delays: Sendable {
        private let box = LockedArray()
        var values: [Duration] { box.values }
        func record(_ delay: Duration) { box.append(delay) }
    }

    func policy(_ delays: Delays) -> RetryPolicy {
        var policy = RetryPolicy()
        policy.sleep = { delays.record($0) }
        policy.random = { 0.5 }
        return policy
    }

    @Test func aKeyedPOSTIsRetriedWithTheSameKeyUntilItSucceeds() async throws {
        let client = CurlHTTPClient()
        let delays = Delays()
        let url = try await CornerServer.plain.value.url("/flaky?id=\(UUID().uuidString)&fail=2")
        let request = HTTPRequest(
            method: .post, url: url, headers: [("Idempotency-Key", "same-key")], body: Data("{}".utf8))
        let response = try await policy(delays).run(request) { try await client.execute($0) }
        #expect(response.status == 200)
        let answer = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        #expect(answer?["attempts"] as? Int == 3)
        #expect(answer?["key"] as? String == "same-key")
        // Full jitter at 0.5: half of 200 ms, then half of 400 ms.
        #expect(delays.values == [.milliseconds(100), .milliseconds(200)])
    }

    @Test func aPOSTWithoutAKeyIsNeverRetried() async throws {
        let client = CurlHTTPClient()
        let delays = Delays()
        let url = try await CornerServer.plain.value.url("/flaky?id=\(UUID().uuidString)&fail=1")
        let response = try await policy(delays).run(HTTPRequest(method: .post, url: url)) {
            try await client.execute($0)
        }
        #expect(response.status == 503)
        #expect(delays.values.isEmpty)
    }

    @Test func retryAfterIsHonoured() async throws {
        let client = CurlHTTPClient()
        let delays = Delays()
        let url = try await CornerServer.plain.value.url("/flaky?id=\(UUID().uuidString)&fail=1&status=429&after=3")
        let response = try await policy(delays).run(HTTPRequest(url: url)) { try await client.execute($0) }
        #expect(response.status == 200)
        #expect(delays.values == [.seconds(3)])
    }

    @Test func theBudgetEndsRetriesAndReturnsTheLastAnswer() async throws {
        let client = CurlHTTPClient()
        let delays = Delays()
        var policy = policy(delays)
        policy.maximumAttempts = 3
        let url = try await CornerServer.plain.value.url("/flaky?id=\(UUID().uuidString)&fail=10&status=502")
        let response = try await policy.run(HTTPRequest(url: url)) { try await client.execute($0) }
        #expect(response.status == 502)
        #expect(delays.values.count == 2)
    }

    @Test func connectionFailuresAreRetriedAndThenThrown() async throws {
        let client = CurlHTTPClient()
        let delays = Delays()
        let closed = try ClosedPort()
        defer { withExtendedLifetime(closed) {} }
        let port = closed.port
        do {
            _ = try await policy(delays).run(HTTPRequest(url: URL(string: "http://127.0.0.1:\(port)/")!)) {
                try await client.execute($0)
            }
            Issue.record("expected cannot_connect")
        } catch let error as HTTPClientError {
            #expect(error == .cannotConnect)
        }
        #expect(delays.values.count == 3)
    }

    @Test func permanentErrorsAreNotRetried() async throws {
        let client = CurlHTTPClient()
        let delays = Delays()
        do {
            _ = try await policy(delays).run(HTTPRequest(url: URL(string: "file:///x")!)) {
                try await client.execute($0)
            }
        } catch {}
        #expect(delays.values.isEmpty)
    }
}

/// A tiny lock-protected array for recording from `@Sendable` closures.
final class LockedArray: @unchecked Sendable {
    // @unchecked: every access to `storage` holds `lock`.
    private let lock = NSLock()
    private var storage: [Duration] = []
    var values: [Duration] { lock.withLock { storage } }
    func append(_ value: Duration) { lock.withLock { storage.append(value) } }
}
