import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the key-encryption key of a profile comes from: the key that wraps the accounts' data
/// keys, kept outside the profile so that a copied profile, a backup or a stolen disk holds
/// nothing readable.
///
/// The SDK ships ``FileKeyProvider`` and picks one with ``KeySource/provider(keyFile:keyFileOrigin:environment:)``;
/// an app brings its own (the desktop's Secret Service, an HSM) by conforming to this protocol.
public protocol KeyProvider: Sendable {
    /// Names the key in errors: a path or a credential name, never the key itself.
    var keyDescription: String { get }

    /// The 32-byte key-encryption key.
    ///
    /// - Parameter creatingIfMissing: whether the provider may make a new key when it has none:
    ///   `true` only while the profile holds no encrypted data yet (a new key could not open it).
    /// - Throws: ``PersistenceError/keyUnavailable(key:reason:)`` when there is no usable key.
    func keyEncryptionKey(creatingIfMissing: Bool) throws -> [UInt8]
}

/// A key-encryption key in a file: 32 bytes, raw or as base64 or hex text (one line).
///
/// The file must be readable by its owner alone (no group or other bits): a key others can read
/// is refused rather than used. A missing file is created (0600, its folder 0700) with a new
/// random key when the provider is creatable and the profile has no encrypted data yet; two
/// processes creating it at once agree on one key (the file is linked into place, never
/// overwritten).
public struct FileKeyProvider: KeyProvider {
    public let path: String
    /// Whether a missing file may be created (not for a systemd credential, which is read-only).
    public let creatable: Bool
    /// Where the path came from, for errors: `--key-file`, `PG_KEY_FILE`, a systemd credential…
    public let origin: String

    public init(path: String, creatable: Bool = true, origin: String = "key file") {
        self.path = path
        self.creatable = creatable
        self.origin = origin
    }

    public var keyDescription: String { "\(origin) \(path)" }

    public func keyEncryptionKey(creatingIfMissing: Bool) throws -> [UInt8] {
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw unavailable("cannot read it: \(String(cString: strerror(errno)))") }
            guard creatable && creatingIfMissing else {
                throw unavailable("there is no key there, and the profile's data is encrypted with one")
            }
            try create()
            return try keyEncryptionKey(creatingIfMissing: false)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw unavailable("it is not a regular file") }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw unavailable(
                "it is readable by other users (mode \(String(mode, radix: 8))); run `chmod 600` on it")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw unavailable("cannot read it")
        }
        guard let key = Self.parse(Array(data)) else {
            throw unavailable("it does not hold a 32-byte key (raw, base64 or hex)")
        }
        return key
    }

    /// 32 raw bytes, or one line of base64 or hex text encoding 32 bytes.
    static func parse(_ bytes: [UInt8]) -> [UInt8]? {
        if bytes.count == 32 { return bytes }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if let data = Data(base64Encoded: text), data.count == 32 { return Array(data) }
        if text.count == 64 {
            var key: [UInt8] = []
            var index = text.startIndex
            while index < text.endIndex {
                let next = text.index(index, offsetBy: 2)
                guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
                key.append(byte)
                index = next
            }
            return key
        }
        return nil
    }

    private func create() throws {
        // The key's folder may be shared (`--key-file /tmp/key`, a home folder): it is made
        // private only when this makes it, never narrowed (a 1777 `/tmp` made 0700 locked every
        // other user out of it). The key file itself is 0600.
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try SecureFiles.makeFolder(folder, narrowingExisting: false) }
        var random = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let text = Data((Data(key).base64EncodedString() + "\n").utf8)
        // Written whole beside the target, then linked into place: link(2) fails when another
        // process created the key first, and that key is the one used.
        let temporary = path + ".new-\(getpid())-\(UInt32.random(in: 0...UInt32.max, using: &random))"
        try SecureFiles.writeAtomically(text, to: temporary)
        defer { unlink(temporary) }
        if link(temporary, path) != 0, errno != EEXIST {
            throw unavailable("cannot create it: \(String(cString: strerror(errno)))")
        }
        SecureFiles.syncFolder(of: path)
    }

    private func unavailable(_ reason: String) -> PersistenceError {
        PersistenceError.keyUnavailable(key: keyDescription, reason: reason)
    }
}

/// The key-encryption key `pg`, `pg-syncd` and apps use, the first of:
/// 1. `keyFile` (an app's own path; `pg --key-file PATH`), else `PG_KEY_FILE`: created on first use;
/// 2. `$CREDENTIALS_DIRECTORY/plusguidance.key`, a systemd credential (`LoadCredentialEncrypted=`,
///    which can bind the key to the machine's TPM): never created;
/// 3. `$XDG_CONFIG_HOME/plusguidance/key`, else `~/.config/plusguidance/key`: created on first use.
public enum KeySource {
    /// The name of the systemd credential (`LoadCredentialEncrypted=plusguidance.key:…`).
    public static let credentialName = "plusguidance.key"

    /// - Parameters:
    ///   - keyFile: the app's own key file, if it has one.
    ///   - keyFileOrigin: how errors name `keyFile` (`pg` says `--key-file`).
    ///   - environment: where `PG_KEY_FILE`, `CREDENTIALS_DIRECTORY`, `XDG_CONFIG_HOME` and
    ///     `HOME` are read (the process's environment by default).
    public static func provider(
        keyFile: String? = nil, keyFileOrigin: String = "key file",
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> FileKeyProvider {
        if let keyFile, !keyFile.isEmpty { return FileKeyProvider(path: keyFile, origin: keyFileOrigin) }
        if let keyFile = environment["PG_KEY_FILE"], !keyFile.isEmpty {
            return FileKeyProvider(path: keyFile, origin: "PG_KEY_FILE")
        }
        if let credentials = environment["CREDENTIALS_DIRECTORY"], !credentials.isEmpty {
            let path = credentials + "/" + credentialName
            if FileManager.default.fileExists(atPath: path) {
                return FileKeyProvider(path: path, creatable: false, origin: "systemd credential")
            }
        }
        let config =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config"
        return FileKeyProvider(path: config + "/plusguidance/key", origin: "key file")
    }
}
