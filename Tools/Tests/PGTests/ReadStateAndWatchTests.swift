import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Unread counts, read receipts and `pg watch` (R11), through the built binaries against
/// `pg-server`: several devices of one account, `pg-syncd` beside `pg`, the server stopped and
/// started again.
@Suite struct ReadStateAndWatchTests {
    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    func binary(_ name: String) throws -> String { try #require(ReferenceServerProcess.productPath(name)) }

    /// A profile of its own, with its own key, signed in to `email`.
    struct Device {
        let base: [String]
        let folder: String

        func pg(_ arguments: [String], stdin: String? = nil) async throws -> ProcessOutcome {
            try await runProcess(
                try #require(ReferenceServerProcess.productPath("pg")), base + arguments, stdin: stdin,
                environment: ["XDG_CONFIG_HOME": folder + "/config", "TZ": "UTC"])
        }

        func json(_ arguments: [String]) async throws -> Any {
            let run = try await pg(["--json"] + arguments)
            guard run.status == 0 else { throw TestFailure("pg \(arguments) exited \(run.status): \(run.stderr)") }
            return try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
        }

        /// The `unread` of the contact `email` in `pg clients --json`.
        func unread(_ email: String) async throws -> Int? {
            let clients = try await json(["clients"]) as? [[String: Any]] ?? []
            return clients.first { $0["email"] as? String == email }?["unread"] as? Int
        }

        static func make(_ server: URL, _ email: String, _ password: String) async throws -> Device {
            let folder = FileManager.default.temporaryDirectory.path + "/pg-read-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let device = Device(
                base: ["--server", server.absoluteString, "--profile", folder + "/profile"], folder: folder)
            let login = try await device.pg(["login", email, "--password-stdin"], stdin: password + "\n")
            guard login.status == 0 else { throw TestFailure("login \(email): \(login.stderr)") }
            return device
        }

        func remove() { try? FileManager.default.removeItem(atPath: folder) }
    }

    /// A `pg watch` running as a process, its stdout lines collected as they come.
    final class Watcher: @unchecked Sendable {
        // @unchecked: `lines` and `errors` are only touched under `lock`.
        let process: ChildProcess
        private let lock = NSLock()
        private var lines: [String] = []
        private var errors = ""

        init(_ device: Device, _ arguments: [String]) throws {
            process = try ChildProcess(
                try #require(ReferenceServerProcess.productPath("pg")), device.base + arguments,
                environment: ["XDG_CONFIG_HOME": device.folder + "/config", "TZ": "UTC"], stdout: .pipe,
                stderr: .pipe)
            for (handle, isOutput) in [(process.standardOutput, true), (process.standardError, false)] {
                guard let handle else { continue }
                Thread { [self] in
                    var pending = Data()
                    while true {
                        let chunk = handle.availableData
                        if chunk.isEmpty { break }
                        pending.append(chunk)
                        while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            let line = String(decoding: pending[pending.startIndex..<end], as: UTF8.self)
                            pending.removeSubrange(pending.startIndex...end)
                            lock.withLock {
                                if isOutput { lines.append(line) } else { errors += line + "\n" }
                            }
                        }
                    }
                }.start()
            }
        }

        var output: [String] { lock.withLock { lines } }
        var errorOutput: String { lock.withLock { errors } }

        /// The JSON events printed so far.
        var events: [[String: Any]] {
            output.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        /// Returns once the watch follows the account: it says so on stderr, and everything
        /// after that line is printed (no probe needed).
        func following() async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if errorOutput.contains("pg: watching") { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw TestFailure("the watch never said it was watching; stderr: \(errorOutput)")
        }

        /// Waits for an event that `matches`, printed after the first `since` events, and returns it.
        @discardableResult
        func waitFor(
            _ what: String, since: Int = 0, within limit: Duration = .seconds(60), _ matches: ([String: Any]) -> Bool
        ) async throws -> [String: Any] {
            let deadline = ContinuousClock.now + limit
            while ContinuousClock.now < deadline {
                if let event = events.dropFirst(since).first(where: matches) { return event }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw TestFailure("no \(what) event; printed: \(output.joined(separator: "\n")); stderr: \(errorOutput)")
        }
    }

    static func message(_ body: String) -> ([String: Any]) -> Bool {
        { ($0["event"] as? String) == "message" && (($0["message"] as? [String: Any])?["body"] as? String) == body }
    }

    static func session(_ change: String) -> ([String: Any]) -> Bool {
        { ($0["event"] as? String) == "session" && ($0["change"] as? String) == change }
    }

    /// The server's time now (test clock).
    static func serverNow(_ server: URL) async throws -> Date {
        let response = try await CurlHTTPClient().execute(
            HTTPRequest(
                method: .post, url: URL(string: server.absoluteString + "/v1/test/clock/advance")!,
                headers: [("Content-Type", "application/json")], body: Data(#"{"seconds":0}"#.utf8)))
        let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        let text = try #require(object?["now"] as? String)
        return try #require(RFC3339.date(text))
    }

    @Test func unreadCountsAndReceiptsAcrossDevicesOfflineAndOnline() async throws {
        let server = try await RestartableReferenceServer.launch(
            databasePath: FileManager.default.temporaryDirectory.path + "/pg-read-\(UUID().uuidString).sqlite")
        defer { server.shutdown() }
        let theo = try await Device.make(server.url, "therapist@example.com", "therapist-pass")
        let theoLaptop = try await Device.make(server.url, "therapist@example.com", "therapist-pass")
        let alice = try await Device.make(server.url, "alice@example.com", "alice-pass")
        defer { [theo, theoLaptop, alice].forEach { $0.remove() } }

        for text in ["first", "second"] {
            #expect(try await alice.pg(["send", "therapist@example.com", text]).status == 0)
        }
        #expect(try await theo.pg(["sync"]).status == 0)
        #expect(try await theoLaptop.pg(["sync"]).status == 0)
        #expect(try await theo.unread("alice@example.com") == 2)
        #expect(try await theoLaptop.unread("alice@example.com") == 2)
        #expect(try await theo.unread("bob@example.com") == 0)
        // Her own texts are not unread for her.
        #expect(try await alice.unread("therapist@example.com") == 0)

        // Read on one device: 0 there at once, and on the other after its sync.
        let read = try await theo.pg(["read", "alice@example.com"])
        #expect(read.status == 0)
        #expect(read.stdout == "Read.\n")
        #expect(try await theo.unread("alice@example.com") == 0)
        #expect(try await theo.pg(["read", "alice@example.com"]).stdout == "Nothing new to read.\n")
        #expect(try await theoLaptop.pg(["sync"]).status == 0)
        #expect(try await theoLaptop.unread("alice@example.com") == 0)

        // The sender sees when each was read.
        #expect(try await alice.pg(["sync"]).status == 0)
        let seen = try await alice.json(["messages", "therapist@example.com"]) as? [[String: Any]] ?? []
        #expect(seen.count == 2)
        #expect(seen.allSatisfy { $0["readAt"] is String })

        // Offline: two receipts queued merge into one, and the count drops at once.
        #expect(try await alice.pg(["send", "therapist@example.com", "third"]).status == 0)
        #expect(try await theo.pg(["sync"]).status == 0)
        #expect(try await theo.unread("alice@example.com") == 1)
        server.stop()
        for _ in 0..<2 {
            let queued = try await theo.pg(["read", "alice@example.com", "--wait", "2"])
            #expect(queued.status == 0)
        }
        #expect(try await theo.unread("alice@example.com") == 0)
        let outbox = try await theo.json(["outbox"]) as? [[String: Any]] ?? []
        #expect(outbox.filter { $0["action"] as? String == "read" }.count == 1)

        try await server.start()
        #expect(try await theo.pg(["sync"]).status == 0)
        #expect((try await theo.json(["outbox"]) as? [[String: Any]])?.isEmpty == true)
        #expect(try await alice.pg(["sync"]).status == 0)
        let after = try await alice.json(["messages", "therapist@example.com"]) as? [[String: Any]] ?? []
        #expect(after.count == 3)
        #expect(after.allSatisfy { $0["readAt"] is String })

        // Exactly once: the pair's feed holds one read position change per receipt delivered
        // (two: the first read, and the merged offline one).
        let api = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await api.login(email: "alice@example.com", password: "alice-pass")
        var reads = 0
        var cursor: FeedCursor?
        while true {
            let page = try await api.changes(after: cursor, limit: 500)
            for case .read(let position) in page.changes where position.readerID == "usr_therapist" { reads += 1 }
            cursor = page.cursor
            if !page.hasMore { break }
        }
        #expect(reads == 2)
    }

    @Test func readPositionsStayInsideThePair() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        func signedIn(_ email: String, _ password: String) async throws -> PlusGuidanceAPI {
            let api = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
            _ = try await api.login(email: email, password: password)
            return api
        }
        let alice = try await signedIn("alice@example.com", "alice-pass")
        let theo = try await signedIn("therapist@example.com", "therapist-pass")
        let other = try await signedIn("other@example.com", "other-pass")
        let bob = try await signedIn("bob@example.com", "bob-pass")
        let sent = try await alice.send(
            Message.text(
                id: MessageID(sender: "usr_alice", nonce: "r1"), from: "usr_alice", to: "usr_therapist",
                within: CareRelation(therapistID: "usr_therapist", clientID: "usr_alice"), body: "private",
                at: Date()), idempotencyKey: "k-r1")
        let conversation = sent.conversationID
        func mark(_ peer: UserID) -> ReadMark {
            ReadMark(conversationID: conversation, peerID: peer, messageID: sent.id, upTo: sent.createdAt)
        }

        // Another therapist, or the therapist's other client, cannot move it: not found.
        for (api, peer) in [(other, UserID("usr_alice")), (bob, UserID("usr_therapist"))] {
            await #expect(throws: PlusGuidanceAPIError.self) {
                _ = try await api.markRead(mark(peer), idempotencyKey: IdempotencyKey("k-\(UUID())"))
            }
        }
        // Nor can the therapist move it with a message of another conversation.
        await #expect(throws: PlusGuidanceAPIError.self) {
            _ = try await theo.markRead(
                ReadMark(conversationID: conversation, peerID: "usr_bob", messageID: sent.id, upTo: sent.createdAt),
                idempotencyKey: "k-wrong-pair")
        }
        // Streams open before the mark: Alice's carries it, Bob's does not (it carries the text
        // Theo sends him after the mark, so it was delivering).
        let aliceStream = try await alice.events(after: nil)
        let bobStream = try await bob.events(after: nil)
        let position = try await theo.markRead(mark("usr_alice"), idempotencyKey: "k-theo-reads")
        #expect(position.readerID == "usr_therapist")
        #expect(position.messageID == sent.id)
        let toBob = try await theo.send(
            Message.text(
                id: MessageID(sender: "usr_therapist", nonce: "r2"), from: "usr_therapist", to: "usr_bob",
                within: CareRelation(therapistID: "usr_therapist", clientID: "usr_bob"), body: "for Bob only",
                at: Date()), idempotencyKey: "k-r2")
        /// The changes of `stream` up to and including the first one `last` matches.
        func changes(
            _ stream: AsyncThrowingStream<LiveEvent, any Error>, until last: @escaping @Sendable (Change) -> Bool
        )
            async throws -> [Change]
        {
            try await withThrowingTaskGroup(of: [Change]?.self) { group in
                group.addTask {
                    var seen: [Change] = []
                    for try await case .change(let change, _) in stream {
                        seen.append(change)
                        if last(change) { return seen }
                    }
                    return seen
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(30))
                    return nil
                }
                defer { group.cancelAll() }
                return try #require(try await group.next() ?? nil)
            }
        }
        let aliceSaw = try await changes(aliceStream) {
            if case .read = $0 { return true }
            return false
        }
        #expect(aliceSaw.contains(.read(position)))
        let bobSaw = try await changes(bobStream) {
            if case .message(let message) = $0 { return message.id == toBob.id }
            return false
        }
        #expect(!bobSaw.contains { if case .read = $0 { true } else { false } })

        // The pair sees it in the feed; nobody else does.
        func reads(_ api: PlusGuidanceAPI) async throws -> [ReadPosition] {
            try await api.changes(after: nil, limit: 1_000).changes.compactMap {
                if case .read(let position) = $0 { return position }
                return nil
            }
        }
        #expect(try await reads(alice).map(\.readerID) == ["usr_therapist"])
        #expect(try await reads(theo).count == 1)
        #expect(try await reads(bob).isEmpty)
        #expect(try await reads(other).isEmpty)
    }

    @Test(arguments: [true, false])
    func watchPrintsEachKindOfEventBesideADaemonOrAlone(besideDaemon: Bool) async throws {
        let server = try await RestartableReferenceServer.launch(
            databasePath: FileManager.default.temporaryDirectory.path + "/pg-watch-\(UUID().uuidString).sqlite")
        defer { server.shutdown() }
        let theo = try await Device.make(server.url, "therapist@example.com", "therapist-pass")
        let alice = try await Device.make(server.url, "alice@example.com", "alice-pass")
        defer { [theo, alice].forEach { $0.remove() } }
        #expect(try await theo.pg(["sync"]).status == 0)

        var daemon: ChildProcess?
        if besideDaemon {
            daemon = try ChildProcess(
                try binary("pg-syncd"), theo.base, environment: ["XDG_CONFIG_HOME": theo.folder + "/config"])
        }
        // Alice's own watch keeps her connection (and her online, R2).
        let aliceWatch = try Watcher(alice, ["watch"])
        let watch = try Watcher(theo, ["--json", "watch"])
        // What was there when the watch started is not news; everything after its ready line is.
        try await watch.following()

        #expect(try await alice.pg(["send", "therapist@example.com", "watch me"]).status == 0)
        let new = try await watch.waitFor("message", Self.message("watch me"))
        #expect(new["change"] as? String == "new")
        #expect((new["message"] as? [String: Any])?["deliveryState"] as? String == "sent")
        // Theo reads it (beside the daemon, the daemon delivers the receipt and pg waits for
        // its answer); the next command shows nothing unread.
        #expect(try await theo.unread("alice@example.com") ?? 0 > 0)
        let read = try await theo.pg(["read", "alice@example.com"])
        #expect(read.status == 0)
        #expect(read.stdout == "Read.\n")
        #expect(try await theo.unread("alice@example.com") == 0)

        // Alice reads what Theo wrote: his watch shows it read.
        #expect(try await theo.pg(["send", "alice@example.com", "did you read this?"]).status == 0)
        try await watch.waitFor("message") {
            Self.message("did you read this?")($0) && $0["change"] as? String == "new"
        }
        #expect(try await alice.pg(["sync"]).status == 0)
        #expect(try await alice.pg(["read", "therapist@example.com"]).status == 0)
        try await watch.waitFor("read receipt") {
            Self.message("did you read this?")($0) && (($0["message"] as? [String: Any])?["readAt"] is String)
        }

        // An offer and its session, a session stopped.
        let offer = try await theo.pg(["--json", "offer", "alice@example.com", "--type", "chat", "--duration", "20"])
        #expect(offer.status == 0)
        let offerID = try #require(
            (try JSONSerialization.jsonObject(with: Data(offer.stdout.utf8)) as? [String: Any])?["id"] as? String)
        try await watch.waitFor("offer") { $0["event"] as? String == "offer" && $0["change"] as? String == "new" }
        #expect(try await alice.pg(["sync"]).status == 0)
        #expect(try await alice.pg(["accept", offerID]).status == 0)
        try await watch.waitFor("offer accepted") {
            $0["event"] as? String == "offer" && ($0["offer"] as? [String: Any])?["state"] as? String == "accepted"
        }
        let ready = try await watch.waitFor("session ready", Self.session("ready"))
        let sessionID = try #require((ready["session"] as? [String: Any])?["id"] as? String)
        #expect(try await theo.pg(["stop", sessionID]).status == 0)
        try await watch.waitFor("session ended", Self.session("ended"))

        // The server goes away and comes back: the watch says it waits, and misses nothing.
        server.stop()
        let deadline = ContinuousClock.now + .seconds(60)
        while !watch.errorOutput.contains("waiting for the server"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(watch.errorOutput.contains("waiting for the server"))
        try await server.start()
        #expect(try await alice.pg(["send", "therapist@example.com", "after the restart"]).status == 0)
        try await watch.waitFor("message after restart", Self.message("after the restart"))

        // Alice's watch stops on SIGTERM with 0: she goes offline for Theo, and online again
        // with her next watch.
        let before = watch.events.count
        aliceWatch.process.signal(SIGTERM)
        #expect(await aliceWatch.process.exitStatus(within: .seconds(30)) == 0)
        func presence(_ online: Bool) -> ([String: Any]) -> Bool {
            { $0["event"] as? String == "presence" && ($0["client"] as? [String: Any])?["online"] as? Bool == online }
        }
        try await watch.waitFor("offline", since: before, presence(false))
        #expect(aliceWatch.output.contains { $0.contains("did you read this?") })
        let offline = watch.events.count
        let aliceAgain = try Watcher(alice, ["watch"])
        try await watch.waitFor("online", since: offline, presence(true))
        aliceAgain.process.signal(SIGINT)
        #expect(await aliceAgain.process.exitStatus(within: .seconds(30)) == 0)

        // Beside a daemon that stops, the watch takes the connection over and misses nothing.
        if let daemon {
            daemon.signal(SIGTERM)
            #expect(await daemon.exitStatus(within: .seconds(60)) == 0)
            #expect(try await alice.pg(["send", "therapist@example.com", "after the daemon"]).status == 0)
            try await watch.waitFor("message after the daemon stopped", Self.message("after the daemon"))
        }

        watch.process.signal(SIGTERM)
        #expect(await watch.process.exitStatus(within: .seconds(30)) == 0)
        // Each event once: the message Alice sent was printed new exactly once.
        #expect(watch.events.filter { Self.message("watch me")($0) && $0["change"] as? String == "new" }.count == 1)
    }

    /// `pg watch` prints everything that happens after its ready line, on a busy machine: a
    /// text sent the moment the line appears, each round a new watch process.
    @Test func aWatchPrintsWhatHappensRightAfterItSaysItIsWatchingUnderLoad() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let theo = try await Device.make(server.url, "therapist@example.com", "therapist-pass")
        let alice = try await Device.make(server.url, "alice@example.com", "alice-pass")
        defer { [theo, alice].forEach { $0.remove() } }
        let load = try BusyProcesses(3)
        defer { load.stop() }
        for round in 1...10 {
            let watch = try Watcher(alice, ["--json", "watch"])
            try await watch.following()
            #expect(try await theo.pg(["send", "alice@example.com", "round \(round)"]).status == 0)
            let event = try await watch.waitFor("round \(round)", Self.message("round \(round)"))
            #expect(event["change"] as? String == "new")
            watch.process.signal(SIGTERM)
            #expect(await watch.process.exitStatus(within: .seconds(30)) == 0)
        }
    }

    @Test func aScheduledSessionRemindsStartsAndRunsIntoOvertimeByTheServersClock() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let theo = try await Device.make(server.url, "therapist@example.com", "therapist-pass")
        let alice = try await Device.make(server.url, "alice@example.com", "alice-pass")
        defer { [theo, alice].forEach { $0.remove() } }
        let daemon = try ChildProcess(
            try binary("pg-syncd"), alice.base, environment: ["XDG_CONFIG_HOME": alice.folder + "/config"])
        let watch = try Watcher(alice, ["--json", "watch", "--remind", "5"])
        try await watch.following()

        let start = try await Self.serverNow(server.url).addingTimeInterval(600)
        let offer = try await theo.pg([
            "offer", "alice@example.com", "--type", "voice", "--duration", "5", "--no-confirmation", "--at",
            RFC3339.string(start),
        ])
        #expect(offer.status == 0, "\(offer.stderr)")
        try await watch.waitFor("session ready", Self.session("ready"))
        #expect(!watch.events.contains(where: Self.session("reminder")))

        try await TestClock.advance(server.url, by: 330)  // 4.5 minutes before the start
        let reminder = try await watch.waitFor("reminder", Self.session("reminder"))
        #expect((reminder["session"] as? [String: Any])?["state"] as? String == "scheduled")
        try await TestClock.advance(server.url, by: 280)
        try await watch.waitFor("started", Self.session("started"))
        try await TestClock.advance(server.url, by: 300)
        let overtime = try await watch.waitFor("overtime", Self.session("overtime"))
        #expect(((overtime["session"] as? [String: Any])?["overtimeSeconds"] as? Int ?? 0) > 0)
        #expect(watch.events.filter(Self.session("reminder")).count == 1)

        watch.process.signal(SIGTERM)
        #expect(await watch.process.exitStatus(within: .seconds(30)) == 0)
        daemon.signal(SIGTERM)
        #expect(await daemon.exitStatus(within: .seconds(60)) == 0)
    }
}
