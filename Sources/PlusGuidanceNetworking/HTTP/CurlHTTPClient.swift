import Foundation
import Logging
import Synchronization

/// An async HTTP client driven directly on libcurl.
///
/// One multi handle, owned by one dedicated thread, runs every transfer; connections, DNS
/// answers and TLS sessions are shared between requests and easy handles are reused. Each
/// request is one continuation, resumed exactly once; cancelling the calling task removes the
/// transfer at once and fails the call with ``HTTPClientError/cancelled``.
///
/// ```swift
/// let client = CurlHTTPClient()
/// let response = try await client.execute(HTTPRequest(url: URL(string: "https://api.example/v1/me")!))
/// ```
///
/// Non-2xx answers are returned, not thrown: callers decide what a status means. Create one
/// client per app and share it; it stops its thread when the last reference goes away.
///
/// libcurl is loaded, and the loop thread started, by the first request: a process that never
/// sends one (a command that only reads the cache) pays nothing for libcurl and its
/// dependencies. When libcurl cannot be loaded, every request fails with
/// ``HTTPClientError/libcurlUnavailable``.
public final class CurlHTTPClient: @unchecked Sendable {
    // @unchecked: `started` is only touched under `startLock`, a pthread mutex (NSLock) rather
    // than Synchronization.Mutex, whose futexes ThreadSanitizer does not see (it reported the
    // loop's first start, racing requests from two threads, as a data race).
    public let configuration: HTTPClientConfiguration
    private let startLock = NSLock()
    private var started: CurlLoop?
    private let logger: Logger?

    /// - Parameters:
    ///   - configuration: timeouts, stall detection, response size and redirect limits.
    ///   - logger: where to log; the client logs nothing at info or above unless something is
    ///     wrong, and never header values or bodies.
    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration(), logger: Logger? = nil) {
        self.configuration = configuration
        self.logger = logger
    }

    deinit { _ = startLock.withLock { started?.submit(.shutdown) } }

    /// The loop, started by the first request.
    private func loop() throws -> CurlLoop {
        try startLock.withLock {
            if let started { return started }
            let new = try CurlLoop.start(
                poolSize: configuration.pooledHandles, connectionsPerHost: configuration.maximumConnectionsPerHost)
            started = new
            return new
        }
    }

    /// Returns once the transfer thread has handled every command submitted before the call:
    /// a transfer cancelled before it has been dropped, its buffers with it.
    public func settle() async {
        guard let loop = startLock.withLock({ started }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !loop.submit(.barrier { continuation.resume() }) { continuation.resume() }
        }
    }

    /// Sends `request` and returns the response with its whole body (at most
    /// ``HTTPClientConfiguration/maximumResponseBytes``).
    ///
    /// - Throws: ``HTTPClientError`` for transport failures (cannot connect, timeout, TLS, pin
    ///   mismatch, truncated body, too large, cancelled…).
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        let loop = try loop()
        let transfer = Transfer(id: loop.makeID(), request: request, configuration: configuration)
        do {
            let response = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    transfer.mode = .buffered(continuation)
                    if !loop.submit(.start(transfer)) { continuation.resume(throwing: HTTPClientError.shutdown) }
                }
            } onCancel: {
                transfer.cancelRequested.store(true, ordering: .releasing)
                loop.submit(.cancel(transfer.id))
            }
            logger?.trace(
                "http request",
                metadata: ["http.method": "\(request.method.rawValue)", "http.status": "\(response.status)"])
            return response
        } catch {
            logger?.debug(
                "http request failed", metadata: ["http.method": "\(request.method.rawValue)", "error": "\(error)"])
            throw error
        }
    }

    /// Sends `request` and returns as soon as the response head arrives; the body is read as it
    /// comes through ``HTTPStreamingResponse/body``, with backpressure: a reader that falls
    /// behind pauses the transfer instead of growing a buffer.
    ///
    /// Streams usually want `totalTimeout: .zero` on the request (no total limit).
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let loop = try loop()
        let transfer = Transfer(id: loop.makeID(), request: request, configuration: configuration)
        let id = transfer.id
        let buffer = BodyBuffer(
            capacity: configuration.streamBufferBytes, resume: { loop.submit(.resume(id)) },
            cancel: { loop.submit(.cancel(id)) })
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.mode = .streaming(head: continuation, body: buffer)
                if !loop.submit(.start(transfer)) { continuation.resume(throwing: HTTPClientError.shutdown) }
            }
        } onCancel: {
            transfer.cancelRequested.store(true, ordering: .releasing)
            loop.submit(.cancel(id))
        }
    }
}

/// A response whose body is still arriving.
public struct HTTPStreamingResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    /// The body, chunk by chunk. Reading it to the end, cancelling the reading task or
    /// dropping every reference to it ends the transfer.
    public var body: ResponseBody

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// The body of an ``HTTPStreamingResponse`` as an `AsyncSequence` of chunks.
public struct ResponseBody: AsyncSequence, Sendable {
    public typealias Element = Data

    private let owner: Owner

    init(buffer: BodyBuffer) { owner = Owner(buffer: buffer) }

    /// Stops the transfer; a pending read fails with ``HTTPClientError/cancelled``.
    public func cancel() { owner.buffer.abandon() }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(owner: owner) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let owner: Owner

        public mutating func next() async throws -> Data? {
            let buffer = owner.buffer
            return try await withTaskCancellationHandler {
                try await buffer.next()
            } onCancel: {
                buffer.abandon()
            }
        }
    }

    /// Ends the transfer when the last copy of the body is gone.
    final class Owner: Sendable {
        let buffer: BodyBuffer
        init(buffer: BodyBuffer) { self.buffer = buffer }
        deinit { buffer.abandon() }
    }
}
