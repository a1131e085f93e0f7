import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting
import Testing

/// I/O faults (issue "Hardening"): `pg send` with the Nth `fsync`/`fdatasync` or the Nth
/// `write`/`pwrite` on the profile's files failing (the `libPGFaultShim.so` LD_PRELOAD shim),
/// swept over every N a clean send makes. Each run either succeeds or fails with one clear line
/// and exit 70; nothing it acknowledged is lost, nothing is delivered twice, the next run
/// recovers, and every SQLite file stays intact. A refused record of an attempt made `pg send` wait
/// out `--wait` and print "no answer within 10 s" although the server had answered: the sender
/// now records `storage_failed` (or, when the disk refuses that too, tells this process's
/// waiters directly) and tries again after a backoff.
@Suite struct IOFaultTests {
    struct Failure: Error, CustomStringConvertible { var description: String }

    func product(_ name: String) throws -> String {
        guard let path = ReferenceServerProcess.productPath(name) else { throw Failure(description: "build \(name)") }
        return path
    }

    @Test(arguments: [("fsync", "EIO", false), ("write", "EIO", false), ("write", "ENOSPC", true)])
    func aFailingDiskIsReportedAndLosesNothingAcknowledged(calls: String, errno: String, sticky: Bool) async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = FileManager.default.temporaryDirectory.path + "/pg-io-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let profile = folder + "/theo"
        let pg = try product("pg")
        let shim = try product("libPGFaultShim.so")
        let base = ["--server", server.url.absoluteString, "--profile", profile]
        let login = try await runProcess(
            pg, base + ["login", "therapist@example.com", "--password-stdin"], stdin: "therapist-pass\n")
        #expect(login.status == 0, "\(login.stderr)")
        _ = try await runProcess(pg, base + ["send", "alice@example.com", "warm-up"])

        // How many calls of the kind a clean send makes.
        let report = folder + "/calls"
        let clean = try await runProcess(
            pg, base + ["send", "alice@example.com", "counted"],
            environment: ["LD_PRELOAD": shim, "PG_FAULT_PATH": profile, "PG_FAULT_REPORT": report])
        #expect(clean.status == 0, "\(clean.stderr)")
        let counts = try String(contentsOfFile: report, encoding: .utf8)
        let total = try #require(
            counts.split(separator: " ").first { $0.hasPrefix(calls + "=") }.flatMap {
                Int($0.dropFirst(calls.count + 1).trimmingCharacters(in: .whitespacesAndNewlines))
            })
        #expect(total >= 1, "a send makes no \(calls) call: \(counts)")

        var acknowledged: [String] = []
        var refused = 0
        for n in 1...total {
            let text = "fault \(calls) \(errno) \(n)"
            var environment = [
                "LD_PRELOAD": shim, "PG_FAULT_PATH": profile, "PG_FAULT_CALLS": calls, "PG_FAULT_AT": "\(n)",
                "PG_FAULT_ERRNO": errno,
            ]
            if sticky { environment["PG_FAULT_STICKY"] = "1" }
            let faulty = try await runProcess(pg, base + ["send", "alice@example.com", text], environment: environment)
            if faulty.status == 0 {
                acknowledged.append(text)
                // Queued for the disk, not "no answer within 10 s" after waiting for a server
                // that answered (what a refused record of the attempt used to print).
                #expect(
                    faulty.stdout == "Sent.\n" || faulty.stdout.hasPrefix("Queued: the disk failed a write"),
                    "call \(n): \(faulty.stdout)")
            } else {
                refused += 1
                #expect(faulty.status == 70, "call \(n): exit \(faulty.status): \(faulty.stderr)")
                let lines = faulty.stderr.split(separator: "\n")
                #expect(lines.count == 1, "call \(n): \(faulty.stderr)")
                #expect(faulty.stderr.hasPrefix("pg: "), "call \(n): \(faulty.stderr)")
                #expect(faulty.stderr.contains("(storage_failed)"), "call \(n): \(faulty.stderr)")
                #expect(!faulty.stderr.contains(text), "the text reached the error line")
            }
            // The next run, on a healthy disk, recovers.
            let after = try await runProcess(pg, base + ["send", "alice@example.com", "after \(calls) \(errno) \(n)"])
            #expect(after.status == 0, "after call \(n): \(after.stderr)")
            #expect(!after.stdout.contains("no answer within"), "after call \(n): \(after.stdout)")
        }
        #expect(refused >= 1, "no failed \(calls) call was noticed")
        let sync = try await runProcess(pg, base + ["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")

        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        let texts = try await theo.allTexts(with: "usr_alice")
        #expect(Set(texts).count == texts.count, "delivered twice: \(texts)")
        for text in acknowledged { #expect(texts.contains(text), "acknowledged but lost: \(text)") }
        for n in 1...total { #expect(texts.contains("after \(calls) \(errno) \(n)")) }

        let accounts = profile + "/accounts"
        for account in try FileManager.default.contentsOfDirectory(atPath: accounts) {
            try await expectIntactFiles(of: "\(accounts)/\(account)")
        }
    }
}

extension IOFaultTests {
    /// The same sweep over `pg sync` pulling new messages: a failed write of a feed page is one
    /// line and exit 70, the page's cursor stays, and the next sync takes everything.
    @Test func aFailingDiskDuringASyncLosesNoMessage() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = FileManager.default.temporaryDirectory.path + "/pg-io-sync-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let profile = folder + "/alice"
        let pg = try product("pg")
        let shim = try product("libPGFaultShim.so")
        let base = ["--server", server.url.absoluteString, "--profile", profile]
        let login = try await runProcess(
            pg, base + ["login", "alice@example.com", "--password-stdin"], stdin: "alice-pass\n")
        #expect(login.status == 0, "\(login.stderr)")
        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        var sent: [String] = []
        func theoSends(_ round: String) async throws {
            for i in 1...3 {
                let text = "sync \(round) \(i)"
                let message = Message(
                    id: MessageID("msg_\(UUID().uuidString.prefix(8))"),
                    conversationID: ConversationID(therapistID: "usr_therapist", clientID: "usr_alice"),
                    senderID: "usr_therapist", recipientID: "usr_alice", kind: .text, body: text, createdAt: Date())
                _ = try await theo.send(message, idempotencyKey: IdempotencyKey("k_\(UUID().uuidString)"))
                sent.append(text)
            }
        }

        try await theoSends("counted")
        let report = folder + "/calls"
        let clean = try await runProcess(
            pg, base + ["sync"], environment: ["LD_PRELOAD": shim, "PG_FAULT_PATH": profile, "PG_FAULT_REPORT": report])
        #expect(clean.status == 0, "\(clean.stderr)")
        let counts = try String(contentsOfFile: report, encoding: .utf8)
        let writes = try #require(
            counts.split(separator: " ").first { $0.hasPrefix("write=") }.flatMap { Int($0.dropFirst(6)) })
        var refused = 0
        for n in 1...writes {
            try await theoSends("\(n)")
            if try await syncThroughFailingWrite(n, pg, base, shim: shim, profile: profile).refused { refused += 1 }
        }
        #expect(refused >= 1)
        let shown = try await runProcess(pg, base + ["--json", "messages", "therapist@example.com", "--limit", "1000"])
        let bodies = Set(
            ((try? JSONSerialization.jsonObject(with: Data(shown.stdout.utf8))) as? [[String: Any]] ?? []).compactMap {
                $0["body"] as? String
            })
        for text in sent { #expect(bodies.contains(text), "lost: \(text)") }
        try await expectIntactFiles(of: "\(profile)/accounts/usr_alice")
    }
}

extension IOFaultTests {
    /// A drain in batches (#14) records each batch's answer (cache, then outbox) while the next
    /// batch's request is under way, and the outbox's checkpoints run beside its writer. With
    /// the Nth write of `pg sync` failing, for N spread over a drain of three batches: the run
    /// either drains or fails with one line, the next run finishes, and the server has every
    /// queued text exactly once.
    @Test func aFailingDiskDuringABatchedDrainLosesNothingAndDeliversNothingTwice() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let proxy = try FaultInjectingProxy(upstreamPort: server.url.port!)
        defer { proxy.stop() }
        let folder = FileManager.default.temporaryDirectory.path + "/pg-io-drain-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let profile = folder + "/alice"
        let pg = try product("pg")
        let shim = try product("libPGFaultShim.so")
        let base = ["--server", server.url.absoluteString, "--profile", profile]
        var queued: [String] = []
        var refused = 0
        for n in [1, 4, 16, 32, 64, 96, 128, 192, 256, 384, 512, 1_024] {
            // 250 texts queued offline by the SDK on the same profile: batches of 100, 100, 50.
            var configuration = ClientConfiguration(serverURL: proxy.url, profile: profile)
            configuration.retry.maximumAttempts = 1
            let client = try await PlusGuidanceClient.open(configuration)
            if queued.isEmpty {
                _ = try await client.signIn(email: "alice@example.com", password: "alice-pass")
                try await client.syncNow()
            }
            proxy.refuseConnections(true)
            for i in 1...250 {
                let text = "drain \(n) \(i)"
                _ = try await client.send(text, to: "usr_therapist")
                queued.append(text)
            }
            await client.close()
            proxy.refuseConnections(false)

            // Entries the disk refused to record wait out a short backoff: `sync` ignores it.
            let run = try await syncThroughFailingWrite(n, pg, base, shim: shim, profile: profile)
            if run.refused { refused += 1 }
            #expect(run.recovered.hasSuffix("Synced. 0 pending, 0 failed in the outbox.\n"), "\(run.recovered)")
        }
        // Writes spread over the drain failed (a drain makes a few hundred), not only the first.
        #expect(refused >= 4, "only \(refused) runs met the failing write")
        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        let texts = try await theo.allTexts(with: "usr_alice")
        #expect(texts.count == Set(texts).count, "delivered twice: \(texts.count - Set(texts).count) texts")
        let delivered = Set(texts)
        for text in queued { #expect(delivered.contains(text), "lost: \(text)") }
        try await expectIntactFiles(of: "\(profile)/accounts/usr_alice")
    }
}

extension IOFaultTests {
    /// The account folder's cache and outbox pass SQLite's `integrity_check`.
    func expectIntactFiles(of account: String) async throws {
        for file in ["cache.sqlite", "outbox.sqlite"] {
            let check = try await runProcess("/usr/bin/sqlite3", ["\(account)/\(file)", "PRAGMA integrity_check"])
            #expect(check.stdout == "ok\n", "\(file): \(check.stdout)\(check.stderr)")
        }
    }

    /// `pg sync` with the `n`th write on the profile failing, then `pg sync` on a healthy disk:
    /// the first succeeds or fails with one `storage_failed` line and exit 70, the second
    /// succeeds. Returns whether the first failed, and what the second printed.
    func syncThroughFailingWrite(
        _ n: Int, _ pg: String, _ base: [String], shim: String, profile: String
    ) async throws -> (refused: Bool, recovered: String) {
        let faulty = try await runProcess(
            pg, base + ["sync"],
            environment: [
                "LD_PRELOAD": shim, "PG_FAULT_PATH": profile, "PG_FAULT_CALLS": "write", "PG_FAULT_AT": "\(n)",
            ])
        if faulty.status != 0 {
            #expect(faulty.status == 70, "write \(n): \(faulty.stderr)")
            #expect(faulty.stderr.split(separator: "\n").count == 1, "write \(n): \(faulty.stderr)")
            #expect(faulty.stderr.contains("(storage_failed)"), "write \(n): \(faulty.stderr)")
        }
        let recovered = try await runProcess(pg, base + ["sync"])
        #expect(recovered.status == 0, "after write \(n): \(recovered.stderr)")
        return (faulty.status != 0, recovered.stdout)
    }
}
