import CLibCrypto
import Foundation

/// 32 bytes of key material (a data key, or a profile's key-encryption key), made and used
/// through the system's libcrypto.
struct KeyMaterial: Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// 32 bytes from libcrypto's generator (seeded by the kernel's).
    static func random() throws -> KeyMaterial {
        var bytes = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&bytes, 32) == 1 else {
            throw PersistenceError.storageFailed(reason: "libcrypto's random generator failed")
        }
        return KeyMaterial(bytes)
    }

    /// HMAC-SHA256 of `message` under this key.
    func authenticationCode(for message: [UInt8]) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = HMAC(EVP_sha256(), bytes, Int32(bytes.count), message, message.count, &mac, &length)
        return Array(mac.prefix(Int(length)))
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

    /// The first 8 bytes of an HMAC of a fixed text under `kek`, in lowercase hex. (Not
    /// `String(format:)`, which goes through Foundation's formatter and a dynamic cast per byte:
    /// a few hundred microseconds of every command's start.)
    static func keyID(_ kek: KeyMaterial) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in kek.authenticationCode(for: Array("plusguidance key id".utf8)).prefix(8) {
            text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
        }
        return String(decoding: text, as: UTF8.self)
    }

    var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// The data key, unwrapped with `kek`; a new one, written durably, when the file is missing.
    func load(with kek: KeyMaterial, provider: any KeyProvider, create: Bool) throws -> KeyMaterial {
        guard exists else {
            guard create else { throw PersistenceError.keyUnavailable(key: path, reason: "the data key is gone") }
            let key = try KeyMaterial.random()
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
    func addWrap(from old: KeyMaterial, to new: KeyMaterial, provider: any KeyProvider) throws {
        var contents = try read()
        let key = try load(with: old, provider: provider, create: false)
        contents.wraps[Self.keyID(new)] = try wrap(key, with: new)
        try write(contents)
    }

    /// Keeps only the wrap under `kek`.
    func keepOnlyWrap(of kek: KeyMaterial) throws {
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

    private func associatedData() -> [UInt8] { Array("plusguidance data key v1\0\(purpose)".utf8) }

    /// `nonce (12) ‖ ciphertext ‖ tag (16)`, base64: AES-GCM's usual "combined" form.
    private func wrap(_ key: KeyMaterial, with kek: KeyMaterial) throws -> String {
        guard let context = GCMContext(key: kek.bytes, encrypting: true) else { throw unreadable() }
        var sealed = [UInt8](repeating: 0, count: 12 + key.bytes.count + 16)
        let aad = associatedData()
        try key.bytes.withUnsafeBufferPointer { message in
            try aad.withUnsafeBufferPointer { aad in
                try sealed.withUnsafeMutableBufferPointer { out in
                    try context.seal(
                        message, aad: aad, nonceInto: out.baseAddress!, output: out.baseAddress! + 12, table: path)
                }
            }
        }
        return Data(sealed).base64EncodedString()
    }

    private func unwrap(_ wrapped: String, with kek: KeyMaterial) throws -> KeyMaterial {
        guard let sealed = Data(base64Encoded: wrapped).map(Array.init), sealed.count == 12 + 32 + 16,
            let context = GCMContext(key: kek.bytes, encrypting: false)
        else { throw unreadable() }
        var key = [UInt8](repeating: 0, count: 32)
        let aad = associatedData()
        try sealed.withUnsafeBufferPointer { box in
            try aad.withUnsafeBufferPointer { aad in
                try key.withUnsafeMutableBufferPointer { out in
                    try context.open(
                        nonce: box.baseAddress!, ciphertext: box.baseAddress! + 12, count: 32,
                        tag: box.baseAddress! + 44, aad: aad, into: out.baseAddress, table: path)
                }
            }
        }
        return KeyMaterial(key)
    }

    private func unreadable() -> PersistenceError {
        PersistenceError.keyUnavailable(key: path, reason: "the wrapped data key is unreadable")
    }
}
