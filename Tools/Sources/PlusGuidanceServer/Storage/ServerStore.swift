import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// An answer of a state-changing request, as stored for `Idempotency-Key` replays.
struct StoredAnswer: Sendable {
    var status: Int
    var contentType: String
    var body: Data
}

/// The reference server's state in SQLite, and every rule-enforcing command.
///
/// Each command runs in one write transaction that performs the Domain transition, its effects
/// (messages, sessions), the feed entries of everything it changed and, for requests carrying an
/// `Idempotency-Key`, the stored answer: either all of it commits or none does.
final class ServerStore: Sendable {
    let pool: DatabasePool
    let clock: ServerClock
    let configuration: ServerConfiguration
    let hasher: PasswordHasher
    /// Verified against when an e-mail is unknown: a hash of the configured cost that matches
    /// no password.
    let unknownAccountHash: String
    /// Failed sign-ins per account and per address.
    let loginThrottle = LoginThrottle()

    init(configuration: ServerConfiguration, clock: ServerClock) throws {
        self.configuration = configuration
        self.clock = clock
        self.hasher = PasswordHasher(cost: configuration.passwordCost)
        let cost = configuration.passwordCost
        unknownAccountHash =
            "scrypt$\(cost.rounds)$\(cost.blockSize)$\(cost.parallelism)$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        pool = try DatabasePool(path: configuration.databasePath, configuration: config)
        try ServerSchema.migrator.migrate(pool)
        // A test clock starts at its fixed time on every start: moved past the latest change
        // already recorded, so that a restarted test server's time never runs backwards over
        // its own data (offers would expire, countdowns run, a second time).
        if let manual = clock.manual,
            let latest = try pool.read({ try Double.fetchOne($0, sql: "SELECT max(createdAt) FROM change") })
        {
            let behind = latest - clock.now().timeIntervalSinceReferenceDate
            if behind >= 0 { manual.advance(by: behind + 0.001) }
        }
        if configuration.seed != nil { try seedDemo() }
        if configuration.seed == .practice { try seedPractice() }
    }
}
