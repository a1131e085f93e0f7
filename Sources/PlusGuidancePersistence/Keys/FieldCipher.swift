import Crypto
import Foundation

/// Seals the secret fields of a store's rows (message bodies, outbox actions, tokens) with
/// AES-256-GCM under one data key; ids, times and states stay in clear so the indexes work.
///
/// A sealed value is `0x01 ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, authenticated with the table
/// and the row's key as associated data: a value copied into another row, or another table,
/// fails to open, so rows cannot be swapped.
public final class FieldCipher: Sendable {
    private static let version: UInt8 = 1
    private let key: SymmetricKey?

    /// A cipher with `key` (32 bytes).
    init(key: SymmetricKey) { self.key = key }

    private init() { key = nil }

    /// A cipher with a new random key, for tests and tools whose data does not outlive them.
    public static func ephemeral() -> FieldCipher { FieldCipher(key: SymmetricKey(size: .bits256)) }

    /// No encryption at all: the baseline of the encryption benchmarks, never for user data.
    package static let unencrypted = FieldCipher()

    func seal(_ plaintext: some DataProtocol, table: String, row: String) throws -> Data {
        guard let key else { return Data(plaintext) }
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Self.associatedData(table, row))
        var sealed = Data(capacity: 1 + 12 + plaintext.count + 16)
        sealed.append(Self.version)
        sealed.append(box.combined!)
        return sealed
    }

    func open(_ sealed: Data, table: String, row: String) throws -> Data {
        guard let key else { return sealed }
        guard sealed.count >= 1 + 12 + 16, sealed.first == Self.version else {
            throw PersistenceError.undecodable(table, column: "sealed value")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
            return try AES.GCM.open(box, using: key, authenticating: Self.associatedData(table, row))
        } catch {
            throw PersistenceError.undecodable(table, column: "sealed value (it does not authenticate)")
        }
    }

    func sealString(_ text: String, table: String, row: String) throws -> Data {
        try seal(Data(text.utf8), table: table, row: row)
    }

    func openString(_ sealed: Data, table: String, row: String) throws -> String {
        String(decoding: try open(sealed, table: table, row: row), as: UTF8.self)
    }

    private static func associatedData(_ table: String, _ row: String) -> Data {
        var data = Data(table.utf8)
        data.append(0)
        data.append(contentsOf: row.utf8)
        return data
    }
}

/// One data key of an account, in a small file of its folder, wrapped (AES-256-GCM) by the
/// key-encryption key of the profile's ``KeyProvider``:
///
/// ```
/// {"version":1,"wraps":{"<key-encryption key id>":"<base64 sealed data key>"}}
/// ```
///
/// The id is derived from the key-encryption key (HMAC-SHA256, 8 bytes), so a wrong key is told
/// apart from a damaged file. A rotation adds the new key's wrap before it drops the old one:
/// a crash in between leaves a file both keys open. Destroying the file (overwritten, synced,
/// removed) destroys the data key: what it sealed cannot be read any more (crypto-shred).
struct WrappedKeyFile {
    let path: String
    let purpose: String

    private struct Contents: Codable {
        var version = 1
        var wraps: [String: String]
    }

    static func keyID(_ kek: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("plusguidance key id".utf8), using: kek)
        return Data(mac).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// The data key, unwrapped with `kek`; a new one, written durably, when the file is missing.
    func load(with kek: SymmetricKey, provider: any KeyProvider, create: Bool) throws -> SymmetricKey {
        guard exists else {
            guard create else { throw PersistenceError.keyUnavailable(key: path, reason: "the data key is gone") }
            let key = SymmetricKey(size: .bits256)
            try write(Contents(wraps: [Self.keyID(kek): try wrap(key, with: kek)]))
            return key
        }
        let contents = try read()
        guard let wrapped = contents.wraps[Self.keyID(kek)], let key = try? unwrap(wrapped, with: kek) else {
            throw PersistenceError.keyUnavailable(
                key: provider.keyDescription, reason: "it is not the key this profile was encrypted with")
        }
        return key
    }

    /// Adds a wrap of the data key under `new`, keeping the others.
    func addWrap(from old: SymmetricKey, to new: SymmetricKey, provider: any KeyProvider) throws {
        var contents = try read()
        let key = try load(with: old, provider: provider, create: false)
        contents.wraps[Self.keyID(new)] = try wrap(key, with: new)
        try write(contents)
    }

    /// Keeps only the wrap under `kek`.
    func keepOnlyWrap(of kek: SymmetricKey) throws {
        var contents = try read()
        let id = Self.keyID(kek)
        contents.wraps = contents.wraps.filter { $0.key == id }
        guard !contents.wraps.isEmpty else { return }
        try write(contents)
    }

    /// Destroys the data key: overwrites the file, syncs, removes it.
    func destroy() { SecureFiles.shred(path) }

    private func read() throws -> Contents {
        guard let data = FileManager.default.contents(atPath: path),
            let contents = try? JSONDecoder().decode(Contents.self, from: data), contents.version == 1
        else {
            throw PersistenceError.keyUnavailable(key: path, reason: "the wrapped data key is unreadable")
        }
        return contents
    }

    private func write(_ contents: Contents) throws {
        try SecureFiles.writeAtomically(try JSONEncoder().encode(contents), to: path)
    }

    private func associatedData() -> Data { Data("plusguidance data key v1\0\(purpose)".utf8) }

    private func wrap(_ key: SymmetricKey, with kek: SymmetricKey) throws -> String {
        let bytes = key.withUnsafeBytes { Data($0) }
        return try AES.GCM.seal(bytes, using: kek, authenticating: associatedData()).combined!.base64EncodedString()
    }

    private func unwrap(_ wrapped: String, with kek: SymmetricKey) throws -> SymmetricKey {
        guard let data = Data(base64Encoded: wrapped) else { throw CryptoKitError.incorrectParameterSize }
        let box = try AES.GCM.SealedBox(combined: data)
        return SymmetricKey(data: try AES.GCM.open(box, using: kek, authenticating: associatedData()))
    }
}
