import Foundation

/// What the process that runs an account's engine publishes about it (`engine.state` in the
/// account's folder), so that the other processes of the profile report the engine's real
/// connection: `pg status` beside `pg-syncd` says offline when the daemon cannot reach the
/// server, rather than taking the daemon's presence for a connection.
///
/// It holds a phase and a process ID, nothing of the account's data. The holder of the engine
/// lock rewrites it when the record changes and removes it when it lets the lock go. A sync's
/// progress is not in it (that would be a file write per feed page): another process sees
/// `syncing` without counts.
struct EngineState: Codable, Equatable {
    var phase: String
    var reason: String?
    var pid: Int32

    init(_ phase: SyncStatus.Phase, pid: Int32 = getpid()) {
        self.pid = pid
        switch phase {
        case .signedOut: self.phase = "signedOut"
        case .offline(let reason):
            self.phase = "offline"
            self.reason = reason
        case .connecting: self.phase = "connecting"
        case .error(let reason):
            self.phase = "error"
            self.reason = reason
        case .syncing: self.phase = "syncing"
        case .live: self.phase = "live"
        case .idle: self.phase = "idle"
        case .runByAnotherProcess: self.phase = "runByAnotherProcess"
        }
    }

    /// The published phase; `nil` for a record this version does not know.
    var syncPhase: SyncStatus.Phase? {
        switch phase {
        case "signedOut": .signedOut
        case "offline": .offline(reason: reason ?? "unreachable")
        case "connecting": .connecting
        case "error": .error(reason: reason ?? "unknown")
        case "syncing": .syncing(SyncProgress(changesApplied: 0, total: nil))
        case "live": .live
        case "idle": .idle
        default: nil
        }
    }

    /// Whether the process that wrote the record still runs (`kill(pid, 0)`; EPERM means it
    /// does, under another user).
    var isAlive: Bool { pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) }

    func encoded() -> Data? { try? JSONEncoder().encode(self) }

    static func decode(_ data: Data?) -> EngineState? {
        data.flatMap { try? JSONDecoder().decode(EngineState.self, from: $0) }
    }
}
