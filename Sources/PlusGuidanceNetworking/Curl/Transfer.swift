internal import CCurl
internal import CCurlLoader
import Foundation
import Synchronization

/// One request in flight on the ``CurlLoop``.
///
/// Created on the caller's task; from the moment it is submitted, every field except
/// `cancelRequested` is read and written only by the loop thread, which also resumes the
/// continuation, exactly once (guarded by `finished`).
final class Transfer: @unchecked Sendable {
    enum Mode {
        case buffered(CheckedContinuation<HTTPResponse, any Error>)
        case streaming(head: CheckedContinuation<HTTPStreamingResponse, any Error>, body: BodyBuffer)
    }

    let id: UInt64
    let request: HTTPRequest
    let configuration: HTTPClientConfiguration
    var mode: Mode?
    /// Set by a cancellation handler on any thread; checked by the loop when it starts the
    /// transfer, for a cancellation that came before the start command.
    let cancelRequested = Atomic<Bool>(false)

    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    var status = 0
    var headers: [(name: String, value: String)] = []
    var body = Data()
    var localFailure: HTTPClientError?
    var headDelivered = false
    var finished = false

    init(id: UInt64, request: HTTPRequest, configuration: HTTPClientConfiguration) {
        self.id = id
        self.request = request
        self.configuration = configuration
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        errorBuffer.deallocate()
        if let headerList { pg_curl_slist_free_all(headerList) }
    }

    var host: String? { request.url.host }

    // MARK: Callbacks (loop thread)

    func receiveHeader(_ bytes: UnsafeRawBufferPointer) {
        // Trim CR and LF as bytes: in a Swift String "\r\n" is one Character.
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            // A new status line: an interim (1xx) answer or a redirect hop starts over.
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = []
        } else if line.isEmpty {
            if case .streaming = mode, isFinalHead { deliverHead() }
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
        }
    }

    private var isFinalHead: Bool {
        if (100..<200).contains(status) { return false }
        let redirect = [301, 302, 303, 307, 308].contains(status)
        return
            !(redirect && configuration.maximumRedirects > 0 && headers.contains { $0.name.lowercased() == "location" })
    }

    /// Returns how many bytes were taken: all, 0 to abort, or CURL_WRITEFUNC_PAUSE.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        switch mode {
        case .buffered:
            guard body.count + bytes.count <= configuration.maximumResponseBytes else {
                localFailure = .responseTooLarge
                return 0
            }
            body.append(contentsOf: bytes)
            return bytes.count
        case .streaming(_, let buffer):
            if !headDelivered { deliverHead() }
            switch buffer.push(Data(bytes)) {
            case .accepted: return bytes.count
            case .pause: return pg_writefunc_pause()
            case .abandoned:
                localFailure = .cancelled
                return 0
            }
        case nil:
            return 0
        }
    }

    func deliverHead() {
        guard !headDelivered, case .streaming(let head, let buffer) = mode else { return }
        headDelivered = true
        head.resume(
            returning: HTTPStreamingResponse(status: status, headers: headers, body: ResponseBody(buffer: buffer)))
    }

    // MARK: Completion (loop thread)

    func complete(_ result: Result<HTTPTimings?, HTTPClientError>) {
        guard !finished else { return }
        finished = true
        switch (mode, result) {
        case (.buffered(let continuation), .success(let timings)):
            continuation.resume(
                returning: HTTPResponse(
                    status: status, headers: headers, body: body, timings: timings, httpVersion: httpVersion))
        case (.buffered(let continuation), .failure(let error)):
            continuation.resume(throwing: error)
        case (.streaming(let head, let buffer), .success):
            if !headDelivered {
                headDelivered = true
                head.resume(
                    returning: HTTPStreamingResponse(
                        status: status, headers: headers, body: ResponseBody(buffer: buffer)))
            }
            buffer.finish(nil)
        case (.streaming(let head, let buffer), .failure(let error)):
            if headDelivered {
                buffer.finish(error)
            } else {
                headDelivered = true
                head.resume(throwing: error)
            }
        case (nil, _):
            break
        }
        mode = nil
    }

    var httpVersion: String {
        guard let easy else { return "1.1" }
        var version = 0
        _ = pg_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
        return version == CURL_HTTP_VERSION_2_0 ? "2" : "1.1"
    }
}
