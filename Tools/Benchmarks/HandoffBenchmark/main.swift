// Cross-process hand-off latency (issue "Quiet and instant"): how long after a commit in one
// process another process's observation of the same database hears of it. Run with
//
//     swift run -c release handoff-benchmark [commits]
//     swift run -c release handoff-benchmark wire [texts]   (see Wire.swift)
//
// Side by side in one run: the change notifier (inotify on the markers every commit bumps)
// against the design it replaced (a `PRAGMA data_version` poll every 100 ms). A child process
// observes; this one commits `commits` outbox entries (default 200), 20 ms apart, and reports
// p50/p99 from the start of each commit to the child hearing of it. Nothing is asserted.
import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting

#if canImport(Glibc)
    import Glibc
#endif

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--listen", arguments.count == 3 {
    // The observing process: print the monotonic time of every change it hears of.
    let path = arguments[2]
    if arguments[1] == "notifier" {
        // It only listens for changes: no entry is opened, so its key does not matter.
        let store = try SQLiteOutboxStore(path: path, cipher: .ephemeral())
        var first = true
        for try await _ in store.changes() {
            say(first ? "ready" : "\(monotonicNanoseconds())")
            first = false
        }
    } else {
        let connection = try DatabaseQueue(path: path)
        var last = try connection.read { try Int.fetchOne($0, sql: "PRAGMA data_version") }
        say("ready")
        while true {
            try await Task.sleep(for: .milliseconds(100))
            let current = try connection.read { try Int.fetchOne($0, sql: "PRAGMA data_version") }
            if current != last {
                last = current
                say("\(monotonicNanoseconds())")
            }
        }
    }
    exit(0)
}

if arguments.first == "observe", arguments.count == 4, let count = Int(arguments[1]),
    let server = URL(string: arguments[3])
{
    try await holdObservations(count, profile: arguments[2], server: server)
}
if arguments.first == "wire" {
    let texts = arguments.dropFirst().first.flatMap(Int.init) ?? 200
    let (fromCommit, fromCall, commit) = try await wireHandoff(texts: texts)
    say("Hand-off to the wire: a text queued beside pg-syncd until its request reaches the server (\(texts) texts):")
    say(
        String(
            format: "  from the commit: p50 %.2f ms, p99 %.2f ms, max %.2f ms", percentile(fromCommit, 0.5),
            percentile(fromCommit, 0.99), fromCommit.last ?? .nan))
    say(
        String(
            format:
                "  from the call (the commit and its fsync included): p50 %.2f ms, p99 %.2f ms; the call itself p50 %.2f ms",
            percentile(fromCall, 0.5), percentile(fromCall, 0.99), percentile(commit, 0.5)))
    exit(0)
}

let commits = arguments.first.flatMap(Int.init) ?? 200
let folder = FileManager.default.temporaryDirectory.path + "/handoff-\(UUID().uuidString)"
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }

/// Commit start to heard, and commit duration (an outbox commit fsyncs), in milliseconds.
func measure(_ mode: String) async throws -> (heard: [Double], commit: [Double]) {
    let path = folder + "/\(mode).sqlite"
    let outbox = try SQLiteOutboxStore(path: path, cipher: .ephemeral())
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = ["--listen", mode, path]
    let output = Pipe()
    child.standardOutput = output
    try child.run()
    defer { child.terminate() }
    let lines = LineReader(output.fileHandleForReading)
    guard lines.next() == "ready" else { fatalError("the listener did not start") }
    var latencies: [Double] = []
    var durations: [Double] = []
    for i in 0..<commits {
        let start = monotonicNanoseconds()
        _ = try await outbox.enqueue(Fixtures.sendEntry("\(mode)-\(i)", at: Double(i)))
        durations.append(Double(monotonicNanoseconds() - start) / 1e6)
        guard let heard = lines.next().flatMap(UInt64.init) else { break }
        latencies.append(Double(heard &- start) / 1e6)
        try await Task.sleep(for: .milliseconds(20))
    }
    return (latencies.sorted(), durations.sorted())
}

/// Reads lines from a pipe, blocking.
final class LineReader {
    private let handle: FileHandle
    private var buffer = Data()
    init(_ handle: FileHandle) { self.handle = handle }
    func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}

func percentile(_ sorted: [Double], _ q: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]
}

var results: [(String, (heard: [Double], commit: [Double]))] = []
for (mode, label) in [("notifier", "change notifier (inotify)"), ("poll", "data_version poll, 100 ms (before)")] {
    results.append((label, try await measure(mode)))
}
say("Cross-process hand-off, commit start to the other process hearing of it (\(commits) commits each):")
for (label, values) in results {
    say(
        String(
            format: "  %@: p50 %.2f ms, p99 %.2f ms (the commit itself, with its fsync: p50 %.2f ms)", label,
            percentile(values.heard, 0.5), percentile(values.heard, 0.99), percentile(values.commit, 0.5)))
}
let ratio = percentile(results[1].1.heard, 0.99) / percentile(results[0].1.heard, 0.99)
say(String(format: "  p99 ratio (before / now): %.0fx", ratio))
