import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import Testing

/// The libcurl client against real servers on loopback.
@Suite struct CurlHTTPClientTests {
    let client = CurlHTTPClient()

    func server() async throws -> CornerServer { try await CornerServer.plain.value }

    func failure(_ body: () async throws -> Void) async -> HTTPClientError? {
        do {
            try await body()
            return nil
        } catch let error as HTTPClientError {
            return error
        } catch {
            return nil
        }
    }

    @Test func aSimpleGETReturnsStatusBodyHeadersAndTimings() async throws {
        let response = try await client.execute(HTTPRequest(url: try await server().url("/ok")))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "hello")
        #expect(response.header("content-type") == "text/plain")
        let timings = try #require(response.timings)
        #expect(timings.total > .zero)
        #expect(timings.firstByte <= timings.total)
    }

    @Test func methodHeadersAndBodyReachTheServer() async throws {
        let body = Data(#"{"text":"Ünïcödé"}"#.utf8)
        let request = HTTPRequest(
            method: .post, url: try await server().url("/echo?x=1"),
            headers: [("Content-Type", "application/json"), ("Idempotency-Key", "k-1")], body: body)
        let response = try await client.execute(request)
        let echo = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        #expect(echo?["method"] as? String == "POST")
        #expect(echo?["body"] as? String == #"{"text":"Ünïcödé"}"#)
        let headers = echo?["headers"] as? [String: String]
        #expect(headers?["Idempotency-Key"] == "k-1")
        #expect(headers?["User-Agent"]?.hasPrefix("PlusGuidanceKit/") == true)
        #expect(headers?["Expect"] == nil)
    }

    @Test(arguments: [HTTPRequest.Method.put, .delete])
    func otherMethodsAreSentAsSuch(method: HTTPRequest.Method) async throws {
        let response = try await client.execute(HTTPRequest(method: method, url: try await server().url("/echo")))
        #expect(
            (try JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["method"] as? String
                == method.rawValue)
    }

    @Test func gzipIsAdvertisedAndDecoded() async throws {
        let response = try await client.execute(HTTPRequest(url: try await server().url("/gzip")))
        #expect(response.header("Content-Encoding") == "gzip")
        #expect(response.body == Data(String(repeating: "compressed ", count: 1_000).utf8))
    }

    @Test func chunkedAndCloseDelimitedBodiesArriveWhole() async throws {
        let chunked = try await client.execute(HTTPRequest(url: try await server().url("/chunked")))
        #expect(String(decoding: chunked.body, as: UTF8.self) == "one two three")
        let closed = try await client.execute(HTTPRequest(url: try await server().url("/close-delimited")))
        #expect(String(decoding: closed.body, as: UTF8.self) == "until the connection closes")
    }

    @Test func aTruncatedBodyIsAnErrorNeverAShortBody() async throws {
        let byLength = await failure {
            _ = try await client.execute(HTTPRequest(url: try await server().url("/truncated-length")))
        }
        #expect(byLength == .truncatedBody)
        let byChunk = await failure {
            _ = try await client.execute(HTTPRequest(url: try await server().url("/truncated-chunked")))
        }
        #expect(byChunk == .truncatedBody || byChunk == .connectionLost)
        #expect(byChunk?.isTransient == true)
    }

    @Test func errorStatusesAreAnswersWithTheirProblemDocument() async throws {
        for status in [400, 404, 409, 500, 503] {
            let response = try await client.execute(HTTPRequest(url: try await server().url("/status/\(status)")))
            #expect(response.status == status)
            #expect(ProblemDocument.decode(response.body)?.domainError == .clientOffline)
        }
    }

    @Test func aSlowAnswerHitsTheTotalTimeout() async throws {
        let request = HTTPRequest(url: try await server().url("/slow?seconds=5"), totalTimeout: .milliseconds(300))
        #expect(await failure { _ = try await client.execute(request) } == .timeout)
    }

    @Test func aStalledTransferIsDetected() async throws {
        var configuration = HTTPClientConfiguration()
        configuration.stallDetection = .init(bytesPerSecond: 100, duration: .seconds(1))
        let stalling = CurlHTTPClient(configuration: configuration)
        let error = await failure {
            _ = try await stalling.execute(HTTPRequest(url: try await server().url("/stall?seconds=20")))
        }
        #expect(error == .timeout)
    }

    @Test func aTooLargeBodyIsRefused() async throws {
        var configuration = HTTPClientConfiguration()
        configuration.maximumResponseBytes = 1_000
        let small = CurlHTTPClient(configuration: configuration)
        #expect(
            try await small.execute(HTTPRequest(url: try await server().url("/big?bytes=1000"))).body.count == 1_000)
        let error = await failure {
            _ = try await small.execute(HTTPRequest(url: try await server().url("/big?bytes=5000")))
        }
        #expect(error == .responseTooLarge)
    }

    @Test func redirectsAreOffByDefaultAndBoundedToHTTP() async throws {
        let plain = try await client.execute(HTTPRequest(url: try await server().url("/redirect?to=/ok")))
        #expect(plain.status == 302)
        var configuration = HTTPClientConfiguration()
        configuration.maximumRedirects = 2
        let following = CurlHTTPClient(configuration: configuration)
        let followed = try await following.execute(HTTPRequest(url: try await server().url("/redirect?to=/ok")))
        #expect(followed.status == 200)
        #expect(String(decoding: followed.body, as: UTF8.self) == "hello")
        let toFTP = await failure {
            _ = try await following.execute(
                HTTPRequest(url: try await server().url("/redirect?to=ftp://127.0.0.1/file")))
        }
        #expect(toFTP != nil)
        let loop = await failure {
            _ = try await following.execute(HTTPRequest(url: try await server().url("/loop")))
        }
        #expect(loop == .tooManyRedirects)
    }

    @Test func nobodyListeningIsCannotConnect() async throws {
        let closed = try ClosedPort()
        defer { withExtendedLifetime(closed) {} }
        let port = closed.port
        let error = await failure {
            _ = try await client.execute(HTTPRequest(url: URL(string: "http://127.0.0.1:\(port)/")!))
        }
        #expect(error == .cannotConnect)
        #expect(error?.isTransient == true)
        #expect(error?.description.contains("127.0.0.1") == true)
    }

    @Test func aServerStuckInTheHandshakeHitsTheConnectTimeout() async throws {
        let listener = try SilentListener()
        var configuration = HTTPClientConfiguration()
        configuration.connectTimeout = .milliseconds(300)
        let impatient = CurlHTTPClient(configuration: configuration)
        #expect(await failure { _ = try await impatient.execute(HTTPRequest(url: listener.url)) } == .connectTimeout)
    }

    @Test func onlyHTTPAndHTTPSAreAccepted() async throws {
        let error = await failure { _ = try await client.execute(HTTPRequest(url: URL(string: "file:///etc/passwd")!)) }
        #expect(error == .invalidRequest)
        let injected = await failure {
            _ = try await client.execute(
                HTTPRequest(url: try await server().url("/ok"), headers: [("X-Evil", "a\r\nHost: b")]))
        }
        #expect(injected == .invalidRequest)
    }

    @Test func manyConcurrentRequestsAllComplete() async throws {
        let url = try await server().url("/ok")
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<200 { group.addTask { try await client.execute(HTTPRequest(url: url)).status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.count == 200)
        #expect(statuses.allSatisfy { $0 == 200 })
    }
}
