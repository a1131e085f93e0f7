import Foundation
import GRDB

/// A failure of the local storage.
///
/// Descriptions name the file and the operation, never row contents: SQL arguments, message
/// bodies and tokens stay out (GRDB redacts statement arguments unless told otherwise, and this
/// type never includes them).
public struct PersistenceError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: String, Sendable {
        case newerSchema = "newer_schema"
        case corruptOutbox = "corrupt_outbox"
        case corruptCache = "corrupt_cache"
        case cannotCreateFolder = "cannot_create_folder"
        case insecurePermissions = "insecure_permissions"
        case profileNotWritable = "profile_not_writable"
        case engineLocked = "engine_locked"
        case closed = "closed"
        case undecodableRow = "undecodable_row"
        case keyUnavailable = "key_unavailable"
        case storageFailed = "storage_failed"
    }

    private let _code: Code
    /// The file or folder concerned, when there is one (paths hold account ids, not secrets).
    public let path: String?
    /// A non-secret explanation.
    public let reason: String

    private init(_ code: Code, path: String?, reason: String) {
        _code = code
        self.path = path
        self.reason = reason
    }

    /// The stable code, e.g. `"newer_schema"`.
    public var code: String { _code.rawValue }

    public var description: String {
        "\(code): \(reason)" + (path.map { " (\($0))" } ?? "")
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs._code == rhs._code }
    public func hash(into hasher: inout Hasher) { hasher.combine(_code) }

    /// The database was written by a newer version of PlusGuidanceKit; it is left untouched.
    public static func newerSchema(path: String) -> PersistenceError {
        PersistenceError(
            .newerSchema, path: path,
            reason: "the database was written by a newer version of PlusGuidanceKit; update the app")
    }

    /// The outbox failed its integrity check. It is never moved aside or rebuilt automatically,
    /// because it holds the user's unsent actions.
    public static func corruptOutbox(path: String, detail: String) -> PersistenceError {
        PersistenceError(.corruptOutbox, path: path, reason: "the outbox failed its integrity check: \(detail)")
    }

    public static func cannotCreateFolder(path: String, errno code: Int32) -> PersistenceError {
        PersistenceError(.cannotCreateFolder, path: path, reason: String(cString: strerror(code)))
    }

    public static func insecurePermissions(path: String, errno code: Int32) -> PersistenceError {
        PersistenceError(
            .insecurePermissions, path: path,
            reason: "cannot restrict permissions: \(String(cString: strerror(code)))")
    }

    /// The profile cannot be written: a read-only file system or folder, or files of another
    /// user. Every command writes to its profile (its locks, its queue, its activity record), so
    /// none can run; nothing was changed.
    public static func profileNotWritable(path: String, errno code: Int32) -> PersistenceError {
        PersistenceError(
            .profileNotWritable, path: path,
            reason: "the profile is not writable (\(String(cString: strerror(code)))); it needs write access")
    }

    /// A failed create, open for writing, chmod or rename of a profile file, as the error that
    /// says what is wrong: the profile not writable, the disk full or failing, else `otherwise`
    /// (by default: permissions that could not be made private).
    static func fileAccess(path: String, errno code: Int32, otherwise: PersistenceError? = nil) -> PersistenceError {
        switch code {
        case EROFS, EACCES, EPERM: .profileNotWritable(path: path, errno: code)
        case ENOSPC, EDQUOT: .storageFailed(reason: "the disk is full")
        case EIO: .storageFailed(reason: "the disk failed a read or a write (I/O error)")
        default: otherwise ?? .insecurePermissions(path: path, errno: code)
        }
    }

    /// Another process runs the sync engine for this account.
    public static func engineLocked(path: String) -> PersistenceError {
        PersistenceError(.engineLocked, path: path, reason: "another process runs the sync engine for this account")
    }

    /// The key-encryption key of the profile is missing, wrong, or unsafe (readable by others):
    /// nothing was read or changed, and the profile works again once the key is back. `key`
    /// names where it was looked for (``KeyProvider/keyDescription``).
    public static func keyUnavailable(key: String, reason: String) -> PersistenceError {
        PersistenceError(.keyUnavailable, path: key, reason: "the profile's key is not available: \(reason)")
    }

    /// The storage was closed or wiped.
    public static let closed = PersistenceError(.closed, path: nil, reason: "the account storage is closed")

    static func undecodable(_ table: String, column: String) -> PersistenceError {
        PersistenceError(.undecodableRow, path: nil, reason: "a \(table) row has an invalid \(column)")
    }

    /// The disk refused a read or a write of the profile's databases: an I/O error, a full disk,
    /// a read-only file system. SQLite rolled the transaction back, so nothing of the operation
    /// is stored (an action that failed so was not queued); the next operation tries again.
    public static func storageFailed(reason: String) -> PersistenceError {
        PersistenceError(.storageFailed, path: nil, reason: reason)
    }

    /// `error` as ``storageFailed(reason:)`` when it is SQLite's I/O, full-disk, read-only or
    /// cannot-open error (as the SDK's calls throw them); `nil` for anything else.
    public static func storageFailure(_ error: any Error) -> PersistenceError? {
        if let error = error as? PersistenceError { return error == .storageFailedCode ? error : nil }
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode {
        case .SQLITE_FULL: return .storageFailed(reason: "the disk is full")
        case .SQLITE_IOERR: return .storageFailed(reason: "the disk failed a read or a write (I/O error)")
        case .SQLITE_READONLY: return .storageFailed(reason: "the profile's files are read-only")
        case .SQLITE_CANTOPEN: return .storageFailed(reason: "a database of the profile cannot be opened")
        default: return nil
        }
    }

    public static let storageFailedCode = PersistenceError(.storageFailed, path: nil, reason: "")
    public static let undecodableRowCode = PersistenceError(.undecodableRow, path: nil, reason: "")
    public static let corruptCacheCode = PersistenceError(.corruptCache, path: nil, reason: "")

    /// The cache of an account is damaged (what SQLite or its check reported, `detail`): it
    /// answers what it can, and the next process that opens it for writing (`pg sync`,
    /// `pg-syncd`, an app) rebuilds it from the server. The outbox, in its own file, is intact.
    public static func corruptCache(_ detail: String) -> PersistenceError {
        PersistenceError(
            .corruptCache, path: nil,
            reason: "the cache is damaged (\(detail)); a sync rebuilds it from the server, and nothing queued is lost")
    }

    /// `error` as ``corruptCache(_:)`` when SQLite reported a damaged file (`SQLITE_CORRUPT`,
    /// `SQLITE_NOTADB`); `nil` for anything else.
    public static func damage(_ error: any Error) -> PersistenceError? {
        if let error = error as? PersistenceError { return error == .corruptCacheCode ? error : nil }
        guard DatabaseOpener.isCorruption(error) else { return nil }
        return .corruptCache("database disk image is malformed")
    }
    public static let newerSchemaCode = PersistenceError(.newerSchema, path: nil, reason: "")
    public static let corruptOutboxCode = PersistenceError(.corruptOutbox, path: nil, reason: "")
    public static let keyUnavailableCode = PersistenceError(.keyUnavailable, path: nil, reason: "")
    public static let profileNotWritableCode = PersistenceError(.profileNotWritable, path: nil, reason: "")
    public static let engineLockedCode = PersistenceError(.engineLocked, path: nil, reason: "")
}
