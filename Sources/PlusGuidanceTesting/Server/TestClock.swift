import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidanceWire

/// The test clock of a `pg-server --test-clock` (not part of the product API: test servers
/// only). The server's clock runs with real time plus what was advanced.
public enum TestClock {
    public struct AdvanceFailed: Error, CustomStringConvertible {
        public let status: Int
        public var description: String { "POST /v1/test/clock/advance answered \(status)" }
    }

    /// Moves the server's clock forward by `seconds`.
    public static func advance(_ server: URL, by seconds: Double, http: CurlHTTPClient = CurlHTTPClient()) async throws
    {
        let response = try await http.execute(
            HTTPRequest(
                method: .post, url: URL(string: server.absoluteString + "/v1/test/clock/advance")!,
                headers: [("Content-Type", "application/json")],
                body: try JSONEncoder().encode(AdvanceClockRequest(seconds: seconds))))
        guard (200..<300).contains(response.status) else { throw AdvanceFailed(status: response.status) }
    }
}
