import Foundation
@_spi(PlusGuidanceTools) import PlusGuidancePersistence

/// `pg key show` and `pg key rotate`, and the C library's `pg_client_key_show` and
/// `pg_client_key_rotate`, written once.
@_spi(PlusGuidanceTools) public enum ProfileKey {
    /// Where the key is looked for, never the key: `{key, origin, exists}`.
    public static func location(_ provider: FileKeyProvider) -> [String: Any] {
        [
            "key": provider.path, "origin": provider.origin,
            "exists": FileManager.default.fileExists(atPath: provider.path),
        ]
    }

    /// Re-wraps the profile's data keys under a new key; no data is rewritten. With
    /// `newKeyFile`, under the key in that file (created 0600 when missing), which opens the
    /// profile from then on; without, under a new random key that replaces `old`'s file in place
    /// (written beside it, then renamed over it once every data key is re-wrapped).
    /// - Returns: `{rewrapped, key}`: how many data keys, and the key file to use now.
    /// - Throws: ``ErrorReport`` `key_not_rewritable` (invalid) when `old` cannot be rewritten
    ///   in place (a systemd credential), `key_not_replaced` when the rename failed.
    public static func rotate(
        profile: String, from old: FileKeyProvider, to newKeyFile: String?
    ) throws -> [String: Any] {
        if let newKeyFile {
            let new = FileKeyProvider(path: newKeyFile, origin: "new key file")
            let count = try AccountStorage.rotateKeyEncryptionKey(
                profile: profile, from: old, to: try new.keyEncryptionKey(creatingIfMissing: true))
            return ["rewrapped": count, "key": newKeyFile]
        }
        guard old.creatable else {
            throw ErrorReport(
                .invalid, code: "key_not_rewritable",
                line: "\(old.keyDescription.visiblyEscaped) cannot be rewritten: rotate to a new key file")
        }
        let next = FileKeyProvider(path: old.path + ".next", origin: "new key")
        let count = try AccountStorage.rotateKeyEncryptionKey(
            profile: profile, from: old, to: try next.keyEncryptionKey(creatingIfMissing: true)
        ) {
            guard rename(next.path, old.path) == 0 else {
                throw ErrorReport(
                    .other, code: "key_not_replaced",
                    line: "cannot replace \(old.path.visiblyEscaped): \(String(cString: strerror(errno)))")
            }
        }
        return ["rewrapped": count, "key": old.path]
    }
}
