// Networking benchmark (issue "Networking"), against one fast local server:
//
//     Benchmarks/networking-benchmark.sh          (starts nginx, runs this, and the curl CLI baseline)
//     swift run -c release networking-benchmark URL [requests]
//
// Prints requests/s for a small GET, serial on one keep-alive connection and 8 concurrent, for
// CurlHTTPClient and URLSession; cancel latency; resident memory over 100k requests.
// Nothing is asserted: compare the ratios of the same run.
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 2, let url = URL(string: arguments[1]) else {
    print("usage: networking-benchmark URL [requests]")
    exit(64)
}
let requests = arguments.count > 2 ? Int(arguments[2]) ?? 20_000 : 20_000
let clock = ContinuousClock()

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func residentMiB() -> Double {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let pages = Double(statm.split(separator: " ")[1]) ?? 0
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}

/// Runs `count` requests with `concurrency` workers and returns requests/s.
func rate(_ count: Int, concurrency: Int, _ one: @escaping @Sendable () async throws -> Void) async throws -> Double {
    let started = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            let share = count / concurrency + (worker < count % concurrency ? 1 : 0)
            group.addTask { for _ in 0..<share { try await one() } }
        }
        try await group.waitForAll()
    }
    return Double(count) / seconds(clock.now - started)
}

let curl = CurlHTTPClient()
let request = HTTPRequest(url: url)
let session = URLSession(configuration: .ephemeral)
let curlOne: @Sendable () async throws -> Void = {
    let response = try await curl.execute(request)
    precondition(response.status == 200)
}
let sessionOne: @Sendable () async throws -> Void = {
    let (_, response) = try await session.data(from: url)
    precondition((response as? HTTPURLResponse)?.statusCode == 200)
}

// Warm up both (connections, caches), then measure.
_ = try await rate(500, concurrency: 8, curlOne)
_ = try await rate(500, concurrency: 8, sessionOne)
let curlSerial = try await rate(requests, concurrency: 1, curlOne)
let sessionSerial = try await rate(requests, concurrency: 1, sessionOne)
let curlParallel = try await rate(requests, concurrency: 8, curlOne)
let sessionParallel = try await rate(requests, concurrency: 8, sessionOne)
print(
    String(
        format: "small GET, serial keep-alive:  CurlHTTPClient %8.0f req/s   URLSession %8.0f req/s", curlSerial,
        sessionSerial))
print(
    String(
        format: "small GET, 8 concurrent:       CurlHTTPClient %8.0f req/s   URLSession %8.0f req/s", curlParallel,
        sessionParallel))
print(
    String(
        format: "CurlHTTPClient / URLSession:   serial %.2fx   concurrent %.2fx", curlSerial / sessionSerial,
        curlParallel / sessionParallel))

// Cancel latency: a request to a socket that accepts and never answers, cancelled mid-wait;
// from cancel() to the call's end.
let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
var address = sockaddr_in()
address.sin_family = sa_family_t(AF_INET)
address.sin_addr.s_addr = inet_addr("127.0.0.1")
var length = socklen_t(MemoryLayout<sockaddr_in>.size)
_ = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
}
listen(listener, 512)
_ = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
}
let silent = URL(string: "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))/")!
var latencies: [Double] = []
for _ in 0..<200 {
    let task = Task { try await curl.execute(HTTPRequest(url: silent)) }
    try await Task.sleep(for: .milliseconds(5))
    let cancelled = clock.now
    task.cancel()
    _ = try? await task.value
    latencies.append(seconds(clock.now - cancelled) * 1_000)
}
latencies.sort()
print(
    String(
        format: "cancel latency: p50 %.3f ms  p99 %.3f ms  (200 cancels mid-request)", latencies[100], latencies[197]))
close(listener)

// Memory over 100k requests (8 concurrent): resident size every 20k.
var samples = [residentMiB()]
for _ in 0..<5 {
    _ = try await rate(20_000, concurrency: 8, curlOne)
    samples.append(residentMiB())
}
print(
    "resident MiB over 100k requests (start, every 20k): "
        + samples.map { String(format: "%.1f", $0) }.joined(separator: " "))
