internal import CCurl
internal import CCurlLoader
import Foundation

/// Sets up an easy handle for a transfer. Runs on the loop thread.
enum CurlOptions {
    static func apply(
        to easy: UnsafeMutableRawPointer, transfer: Transfer, share: UnsafeMutableRawPointer
    ) throws(HTTPClientError) {
        let request = transfer.request
        let configuration = transfer.configuration
        guard let scheme = request.url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw HTTPClientError.invalidRequest.with(host: request.url.host, reason: "only http and https URLs")
        }
        var failed = false
        func check(_ code: CURLcode) { if code != CURLE_OK { failed = true } }

        check(pg_easy_setopt_string(easy, CURLOPT_URL, request.url.absoluteString))
        check(pg_easy_setopt_share(easy, share))
        check(pg_easy_setopt_pointer(easy, CURLOPT_PRIVATE, Unmanaged.passUnretained(transfer).toOpaque()))
        check(pg_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer))
        check(pg_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        check(pg_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"))

        // Timeouts and stall detection.
        check(pg_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(configuration.connectTimeout)))
        check(
            pg_easy_setopt_long(
                easy, CURLOPT_TIMEOUT_MS, milliseconds(request.totalTimeout ?? configuration.totalTimeout)))
        // A long-lived stream (no total timeout) is watched by its reader's heartbeat timeout
        // instead: libcurl's speed check would wake its loop every second for the stream's life.
        if let stall = configuration.stallDetection, request.totalTimeout != .zero {
            check(pg_easy_setopt_long(easy, CURLOPT_LOW_SPEED_LIMIT, stall.bytesPerSecond))
            check(pg_easy_setopt_long(easy, CURLOPT_LOW_SPEED_TIME, max(1, milliseconds(stall.duration) / 1_000)))
        }

        // Redirects: off, or bounded and only to http/https.
        if configuration.maximumRedirects > 0 {
            check(pg_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 1))
            check(pg_easy_setopt_long(easy, CURLOPT_MAXREDIRS, configuration.maximumRedirects))
            check(pg_easy_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        }

        if configuration.acceptCompression { check(pg_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "")) }
        check(
            pg_easy_setopt_long(
                easy, CURLOPT_HTTP_VERSION,
                configuration.allowHTTP2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1))
        check(pg_easy_setopt_long(easy, CURLOPT_MAXFILESIZE_LARGE, configuration.maximumResponseBytes))

        // TLS: verification always on; an optional CA bundle and public key pins.
        check(pg_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1))
        check(pg_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2))
        if let bundle = configuration.caBundlePath { check(pg_easy_setopt_string(easy, CURLOPT_CAINFO, bundle)) }
        if let pins = configuration.pinnedPublicKeys {
            check(pg_easy_setopt_string(easy, CURLOPT_PINNEDPUBLICKEY, pins))
        }
        check(pg_easy_setopt_string(easy, CURLOPT_USERAGENT, configuration.userAgent))

        // Method and body.
        switch request.method {
        case .get: check(pg_easy_setopt_long(easy, CURLOPT_HTTPGET, 1))
        case .head: check(pg_easy_setopt_long(easy, CURLOPT_NOBODY, 1))
        case .post: check(pg_easy_setopt_long(easy, CURLOPT_POST, 1))
        case .put, .patch, .delete: check(pg_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method.rawValue))
        }
        if request.body != nil || request.method == .post {
            let body = request.body ?? Data()
            check(pg_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            body.withUnsafeBytes { bytes in
                // COPYPOSTFIELDS copies, so the Data need not outlive this call.
                check(
                    pg_easy_setopt_pointer(
                        easy, CURLOPT_COPYPOSTFIELDS,
                        UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)))
            }
        }

        // Headers. "Expect:" off: libcurl would otherwise wait for 100-continue on large POSTs.
        var list: UnsafeMutablePointer<curl_slist>? = pg_curl_slist_append(nil, "Expect:")
        for (name, value) in request.headers {
            // Scalars, not Characters: "\r\n" is a single Character and would slip through.
            let forbidden: Set<Unicode.Scalar> = ["\r", "\n", "\0"]
            guard !name.isEmpty, !name.unicodeScalars.contains(where: { forbidden.contains($0) || $0 == ":" }),
                !value.unicodeScalars.contains(where: { forbidden.contains($0) })
            else {
                throw HTTPClientError.invalidRequest.with(host: request.url.host, reason: "header \(name) is malformed")
            }
            list = pg_curl_slist_append(list, "\(name): \(value)")
        }
        transfer.headerList = list
        check(pg_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list))

        check(pg_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, headerCallback))
        check(pg_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, Unmanaged.passUnretained(transfer).toOpaque()))
        check(pg_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, writeCallback))
        check(pg_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, Unmanaged.passUnretained(transfer).toOpaque()))
        if failed {
            throw HTTPClientError.invalidRequest.with(host: request.url.host, reason: "libcurl refused an option")
        }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1_000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

private let headerCallback: pg_curl_data_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    transfer.receiveHeader(UnsafeRawBufferPointer(start: buffer, count: size * count))
    return size * count
}

private let writeCallback: pg_curl_data_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.receiveBody(UnsafeRawBufferPointer(start: buffer, count: size * count))
}

/// libcurl result codes as ``HTTPClientError``s (libcurl-errors(3)).
enum CurlErrors {
    static func map(_ code: CURLcode, connected: Bool) -> HTTPClientError {
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: .cannotResolveHost
        case CURLE_COULDNT_CONNECT: .cannotConnect
        case CURLE_OPERATION_TIMEDOUT: connected ? .timeout : .connectTimeout
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH: .pinMismatch
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE:
            .tlsFailure
        // libcurl before 8.6 reports headers over its 100 KiB limit as "out of memory".
        case CURLE_FILESIZE_EXCEEDED, CURLE_OUT_OF_MEMORY: .responseTooLarge
        case CURLE_PARTIAL_FILE: .truncatedBody
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_HTTP2, CURLE_HTTP2_STREAM: .connectionLost
        case CURLE_TOO_MANY_REDIRECTS: .tooManyRedirects
        case CURLE_ABORTED_BY_CALLBACK: .cancelled
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: .invalidRequest
        default: HTTPClientError.make(code: "transport_error", host: nil, reason: nil)
        }
    }
}
