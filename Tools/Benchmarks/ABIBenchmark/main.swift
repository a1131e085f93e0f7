// The Swift side of Tools/Benchmarks/abi-benchmark.sh: the same calls as abi/abi-bench.c
// makes through libplusguidance, made on the Swift API, on the same profile, in the same run.
//
//   abi-benchmark reads SERVER PROFILE KEY_FILE ROUNDS      latest 50 messages, then send online
//   abi-benchmark observe SERVER PROFILE KEY_FILE COUNT     text-to-handler latency of `events()`
//
// Prints one line per figure: `name p50_us p99_us`. Nothing is asserted.
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func report(_ name: String, _ micros: [Double]) {
    print("\(name) \(Int(percentile(micros, 0.5))) \(Int(percentile(micros, 0.99)))")
}

func open(_ arguments: ArraySlice<String>) async throws -> PlusGuidanceClient {
    let values = Array(arguments)
    guard values.count >= 3, let url = URL(string: values[0]) else {
        FileHandle.standardError.write(Data("usage: abi-benchmark reads|observe SERVER PROFILE KEY_FILE N\n".utf8))
        exit(64)
    }
    var configuration = ClientConfiguration(serverURL: url, profile: values[1])
    configuration.keys = KeySource.provider(keyFile: values[2], keyFileOrigin: "KEY_FILE")
    return try await PlusGuidanceClient.open(configuration)
}

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

let arguments = CommandLine.arguments
let count = Int(arguments.last ?? "") ?? 200
let clock = ContinuousClock()
do {
    try await run()
} catch {
    FileHandle.standardError.write(Data("abi-benchmark: \(ErrorReport(error).line)\n".utf8))
    exit(70)
}

func run() async throws {
    switch arguments.dropFirst().first {
    case "reads":
        let client = try await open(arguments.dropFirst(2))
        guard let peer = try await client.contacts().first(where: { $0.user.email == "alice@example.com" }) else {
            exit(70)
        }
        var reads: [Double] = []
        for round in 0..<(count + count / 10) {
            let start = clock.now
            let messages = try await client.messages(with: peer.id, limit: 50)
            let elapsed = clock.now - start
            precondition(messages.count == 50)
            if round >= count / 10 { reads.append(microseconds(elapsed)) }  // the first tenth warms up
        }
        report("swift-latest-50", reads)
        var sends: [Double] = []
        for round in 0..<(count / 4) {
            let start = clock.now
            let sent = try await client.send("swift \(round)", to: peer.id)
            guard try await sent.outcome(waitingUpTo: .seconds(10)) == .delivered else { exit(70) }
            sends.append(microseconds(clock.now - start))
        }
        report("swift-send-online", sends)
    case "observe":
        // Bodies are "t=<CLOCK_REALTIME ns>": sent by another process, read here when observed.
        let client = try await open(arguments.dropFirst(2))
        try await client.startLive()
        var latencies: [Double] = []
        FileHandle.standardError.write(Data("ready\n".utf8))
        for try await event in try await client.events() {
            guard case .message(let message, .new) = event, message.body.hasPrefix("t=") else { continue }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let sent = Double(message.body.dropFirst(2)) ?? 0
            latencies.append((Double(now.tv_sec) * 1e9 + Double(now.tv_nsec) - sent) / 1e3)
            if latencies.count == count { break }
        }
        report("swift-text-to-observation", latencies)
        await client.closeAndWait()
    default:
        FileHandle.standardError.write(Data("usage: abi-benchmark reads|observe SERVER PROFILE KEY_FILE N\n".utf8))
        exit(64)
    }
}
