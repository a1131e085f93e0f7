import Foundation

/// How ``CurlHTTPClient`` behaves. The defaults are production defaults.
public struct HTTPClientConfiguration: Sendable {
    /// Limit for establishing a connection (DNS, TCP and TLS).
    public var connectTimeout: Duration = .seconds(10)
    /// Limit for a whole request; `.zero` for none. Streams set their own (usually none).
    public var totalTimeout: Duration = .seconds(60)
    /// A transfer slower than ``LowSpeed/bytesPerSecond`` for ``LowSpeed/duration`` is stalled
    /// and fails with `timeout`. `nil` disables stall detection. Not applied to streams without
    /// a total timeout (`HTTPRequest.totalTimeout == .zero`), whose reader watches heartbeats.
    public var stallDetection: LowSpeed? = LowSpeed(bytesPerSecond: 1, duration: .seconds(30))
    /// The largest response body accepted; larger ones fail with `responseTooLarge`.
    public var maximumResponseBytes: Int = 16 << 20
    /// How many redirects to follow (only to http and https); 0 follows none.
    public var maximumRedirects: Int = 0
    /// Advertise and decode gzip, deflate, brotli and zstd, as libcurl supports.
    public var acceptCompression = true
    /// Use HTTP/2 when the server offers it over TLS.
    public var allowHTTP2 = true
    /// A PEM bundle of trusted CAs instead of the system's. Verification is always on.
    public var caBundlePath: String?
    /// Public key pins (`sha256//<base64>;sha256//…`): the server's key must match one.
    public var pinnedPublicKeys: String?
    public var userAgent: String = "PlusGuidanceKit/1.0 (libcurl)"
    /// Open at most this many connections to one host; further requests wait for one.
    public var maximumConnectionsPerHost: Int = 16
    /// Keep at most this many idle easy handles for reuse.
    public var pooledHandles: Int = 16
    /// Streaming: pause the transfer when this many bytes wait unread, resume below half.
    public var streamBufferBytes: Int = 256 << 10

    /// Proxies come from the standard environment variables (`http_proxy`, `https_proxy`,
    /// `no_proxy`), as libcurl reads them; nothing to configure here.
    public init() {}

    public struct LowSpeed: Sendable, Hashable {
        public var bytesPerSecond: Int
        public var duration: Duration
        public init(bytesPerSecond: Int, duration: Duration) {
            self.bytesPerSecond = bytesPerSecond
            self.duration = duration
        }
    }
}
