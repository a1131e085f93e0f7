/// PlusGuidancePersistence keeps everything a user needs offline and everything they did that the
/// server has not confirmed: a per-account SQLite cache (GRDB on the system SQLite, WAL mode,
/// numbered migrations) implementing the Domain's `CacheStore`, and a separate outbox database
/// implementing `OutboxStore`, with change observation across processes, 0700/0600 file
/// permissions and integrity checks on open.
///
/// This file marks the module; the stores arrive with the "Persistence" issue.
import PlusGuidanceDomain
