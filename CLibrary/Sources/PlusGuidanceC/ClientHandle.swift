import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import Synchronization

/// What a `pg_client *` points at: the Swift client, its key source, its event queue and the
/// work it runs for the app (the event pumps and the `_async` calls).
final class ClientHandle: Sendable {
    let client: PlusGuidanceClient
    let keys: FileKeyProvider
    let profile: String
    /// How long a write waits for the server's answer before it answers "queued".
    let wait: Duration
    let events: EventQueue
    /// Peers already resolved (an e-mail in lower case, or an id) to their ids: a contact's id
    /// does not change, and a read by e-mail should not read every contact first.
    let peers = Mutex<[String: UserID]>([:])
    private let work = Mutex<(next: UInt64, tasks: [UInt64: Task<Void, Never>], pumping: Bool)>((1, [:], false))

    init(client: PlusGuidanceClient, keys: FileKeyProvider, profile: String, wait: Duration, events: EventQueue) {
        self.client = client
        self.keys = keys
        self.profile = profile
        self.wait = wait
        self.events = events
    }

    /// Runs `body` for the app; its completion arrives as an event with the returned id.
    func start(_ body: @escaping @Sendable () async throws -> Any?) -> UInt64 {
        work.withLock { work in
            let id = work.next
            work.next += 1
            work.tasks[id] = Task { [events] in
                var completion: [String: Any] = ["event": "completion", "request": id]
                do {
                    completion["ok"] = true
                    completion["result"] = try await body() ?? NSNull()
                } catch {
                    let (status, code, line) = describe(error)
                    completion["ok"] = false
                    completion["error"] = ["status": Int(status), "code": code, "message": line]
                }
                if let line = try? ContractJSON.encoded(completion) { events.push(line) }
                _ = self.work.withLock { $0.tasks.removeValue(forKey: id) }
            }
            return id
        }
    }

    /// Starts following the account for the app (once): `pg watch --json`'s events, and a
    /// `status` event whenever the status's JSON changes.
    func startPumping() {
        let start = work.withLock { work in
            defer { work.pumping = true }
            return !work.pumping
        }
        guard start else { return }
        let accountEvents = Task { [client, events] in
            // Each signed-in stretch has its own stream; it ends when the account signs out.
            while !Task.isCancelled {
                do {
                    for try await user in try await client.observeCurrentUser() where user != nil { break }
                    for try await event in try await client.events() {
                        if case .message(let message, let change) = event {
                            // The frequent one, written straight (no dictionary, no JSONSerialization).
                            var writer = ContractJSONWriter()
                            writer.messageEvent(message, change: change.rawValue)
                            events.push(writer.text)
                        } else {
                            events.push(try ContractJSON.encoded(await ContractJSON.event(event, on: client)))
                        }
                    }
                } catch {
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        let statusEvents = Task { [client, events] in
            var last = ""
            while !Task.isCancelled {
                do {
                    for try await status in try await client.observeStatus() {
                        let line = try ContractJSON.encoded(["event": "status", "status": ContractJSON.status(status)])
                        if line != last { events.push(line) }
                        last = line
                    }
                } catch {
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        work.withLock { work in
            work.tasks[0] = Task {
                await withTaskCancellationHandler {
                    await accountEvents.value
                    await statusEvents.value
                } onCancel: {
                    accountEvents.cancel()
                    statusEvents.cancel()
                }
            }
        }
    }

    /// Cancels what runs for the app, waits for it to end, and closes the client.
    func close() async {
        let running = work.withLock { work in
            defer { work.tasks = [:] }
            return Array(work.tasks.values)
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
        await client.closeAndWait()
    }
}

/// The handles the app holds: a pointer not in here is closed, or was never a client, and
/// every call on it is PG_ECLOSED instead of a crash.
private let handles = Mutex<Set<UInt>>([])

extension ClientHandle {
    /// A retained handle for the app.
    func handOut() -> OpaquePointer {
        let pointer = Unmanaged.passRetained(self).toOpaque()
        _ = handles.withLock { $0.insert(UInt(bitPattern: pointer)) }
        return OpaquePointer(pointer)
    }

    /// The handle behind `pointer`, held for the call, or PG_ECLOSED.
    static func from(_ pointer: OpaquePointer?) throws -> ClientHandle {
        guard let pointer else { throw MisuseError.invalid("client is NULL") }
        let raw = UnsafeMutableRawPointer(pointer)
        return try handles.withLock { handles in
            guard handles.contains(UInt(bitPattern: raw)) else { throw MisuseError.closed }
            return Unmanaged<ClientHandle>.fromOpaque(raw).takeUnretainedValue()
        }
    }

    /// Takes the handle back from the app: later calls on the pointer are PG_ECLOSED.
    static func takeBack(_ pointer: OpaquePointer?) throws -> ClientHandle {
        guard let pointer else { throw MisuseError.invalid("client is NULL") }
        let raw = UnsafeMutableRawPointer(pointer)
        return try handles.withLock { handles in
            guard handles.remove(UInt(bitPattern: raw)) != nil else { throw MisuseError.closed }
            return Unmanaged<ClientHandle>.fromOpaque(raw).takeRetainedValue()
        }
    }
}
