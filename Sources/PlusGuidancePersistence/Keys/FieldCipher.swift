import CLibCrypto
import Foundation

/// Seals the secret fields of a store's rows (message bodies, outbox actions, tokens) with
/// AES-256-GCM under one data key; ids, times and states stay in clear so the indexes work.
///
/// A sealed value is `0x01 ‖ nonce (12, random) ‖ ciphertext ‖ tag (16)`: standard AES-256-GCM,
/// which any AES-GCM implementation opens (a test checks both ways against swift-crypto's). It is authenticated with
/// the table and the row's key as associated data: a value copied into another row, or another
/// table, fails to open, so rows cannot be swapped.
///
/// Everything goes through the system's libcrypto (OpenSSL), the one crypto library of the SDK.
/// The per-row work sets the key schedule up once per cipher: a new context per call (what
/// swift-crypto's API does) cost 4 to 7 µs here and made a first sync 1.6 times slower
/// (Benchmarks/EncryptionBenchmark); this way it is well under a microsecond. Keys are made and
/// wrapped with the same library (`WrappedKeyFile`).
public final class FieldCipher: @unchecked Sendable {
    // @unchecked: the two contexts are made under `lock` and then only used under their own
    // locks; `key` is immutable.
    private static let version: UInt8 = 1
    private static let nonceSize = 12
    private static let tagSize = 16
    private let key: [UInt8]?
    private let lock = NSLock()
    private var sealingContext: GCMContext?
    private var openingContext: GCMContext?
    private var derivedBlindIndex: BlindIndex?

    /// A cipher with `key` (32 bytes).
    convenience init(key: KeyMaterial) { self.init(keyBytes: key.bytes) }

    private init() { key = nil }

    /// A cipher with `keyBytes` (32 bytes): for tests and tools that share a key between processes.
    @_spi(PlusGuidanceTools) public init(keyBytes: [UInt8]) { key = keyBytes }

    /// The context that seals, made on first use: a command that only reads never makes one,
    /// and a key whose rows are never read makes neither (each costs libcrypto's algorithm
    /// lookup and key schedule). `nil` only for ``unencrypted``.
    private var sealing: GCMContext? { get throws { try context(encrypting: true) } }
    /// The context that opens, made on first use.
    private var opening: GCMContext? { get throws { try context(encrypting: false) } }

    private func context(encrypting: Bool) throws -> GCMContext? {
        guard let key else { return nil }
        return try lock.withLock {
            if let made = encrypting ? sealingContext : openingContext { return made }
            guard let made = GCMContext(key: key, encrypting: encrypting) else {
                throw PersistenceError.storageFailed(reason: "libcrypto could not set up AES-256-GCM")
            }
            if encrypting { sealingContext = made } else { openingContext = made }
            return made
        }
    }

    /// A cipher with a new random key, for tests and tools whose data does not outlive them.
    public static func ephemeral() -> FieldCipher {
        // A generator that fails has no key to give: nothing could be sealed safely.
        guard let key = try? KeyMaterial.random() else { fatalError("libcrypto's random generator failed") }
        return FieldCipher(key: key)
    }

    /// No encryption at all: the baseline of the encryption benchmarks, never for user data.
    @_spi(PlusGuidanceTools) public static let unencrypted = FieldCipher()

    func seal(_ plaintext: Data, table: String, row: String) throws -> Data {
        guard let sealing = try sealing else { return plaintext }
        var sealed = Data(count: 1 + Self.nonceSize + plaintext.count + Self.tagSize)
        try Self.withAssociatedData(table, row) { aad in
            try plaintext.withUnsafeBytes { (message: UnsafeRawBufferPointer) in
                try sealed.withUnsafeMutableBytes { (out: UnsafeMutableRawBufferPointer) in
                    let base = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    base[0] = Self.version
                    try sealing.seal(
                        message.bindMemory(to: UInt8.self), aad: aad, nonceInto: base + 1,
                        output: base + 1 + Self.nonceSize, table: table)
                }
            }
        }
        return sealed
    }

    func open(_ sealed: Data, table: String, row: String) throws -> Data {
        guard let opening = try opening else { return sealed }
        let count = sealed.count - 1 - Self.nonceSize - Self.tagSize
        guard count >= 0, sealed.first == Self.version else {
            throw PersistenceError.undecodable(table, column: "sealed value")
        }
        var plaintext = Data(count: count)
        try Self.withAssociatedData(table, row) { aad in
            try sealed.withUnsafeBytes { (box: UnsafeRawBufferPointer) in
                let nonce = box.baseAddress!.assumingMemoryBound(to: UInt8.self) + 1
                try plaintext.withUnsafeMutableBytes { (out: UnsafeMutableRawBufferPointer) in
                    try opening.open(
                        nonce: nonce, ciphertext: nonce + Self.nonceSize, count: count,
                        tag: nonce + Self.nonceSize + count, aad: aad,
                        into: out.baseAddress?.assumingMemoryBound(to: UInt8.self), table: table)
                }
            }
        }
        return plaintext
    }

    @_spi(PlusGuidanceTools) public func sealString(_ text: String, table: String, row: String) throws -> Data {
        try seal(Data(text.utf8), table: table, row: row)
    }

    /// Opens straight into the string's storage (no intermediate buffer: a query opens one
    /// value per row).
    @_spi(PlusGuidanceTools) public func openString(_ sealed: Data, table: String, row: String) throws -> String {
        guard let opening = try opening else { return String(decoding: sealed, as: UTF8.self) }
        let count = sealed.count - 1 - Self.nonceSize - Self.tagSize
        guard count >= 0, sealed.first == Self.version else {
            throw PersistenceError.undecodable(table, column: "sealed value")
        }
        return try Self.withAssociatedData(table, row) { aad in
            try sealed.withUnsafeBytes { (box: UnsafeRawBufferPointer) in
                let nonce = box.baseAddress!.assumingMemoryBound(to: UInt8.self) + 1
                return try String(unsafeUninitializedCapacity: count) { out in
                    try opening.open(
                        nonce: nonce, ciphertext: nonce + Self.nonceSize, count: count,
                        tag: nonce + Self.nonceSize + count, aad: aad, into: out.baseAddress, table: table)
                    return count
                }
            }
        }
    }

    /// The key, for the test that checks the format against swift-crypto's `AES.GCM`.
    @_spi(PlusGuidanceTools) public var keyBytesForTesting: [UInt8]? { key }

    /// The fingerprints' keys derived from this key (two HMACs), made on first use and kept:
    /// every batch of the feed and every search asks for them.
    var blindIndex: BlindIndex {
        lock.withLock {
            if let made = derivedBlindIndex { return made }
            let made = BlindIndex(rootKey: key)
            derivedBlindIndex = made
            return made
        }
    }

    /// `table ‖ 0x00 ‖ row`, built on the stack.
    private static func withAssociatedData<T>(
        _ table: String, _ row: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> T
    ) throws -> T {
        var table = table
        var row = row
        let count = table.utf8.count + 1 + row.utf8.count
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { buffer in
            let tableEnd = table.withUTF8 { bytes in
                _ = buffer.initialize(fromContentsOf: bytes)
                return bytes.count
            }
            buffer[tableEnd] = 0
            row.withUTF8 { bytes in
                _ = UnsafeMutableBufferPointer(rebasing: buffer[(tableEnd + 1)...]).initialize(fromContentsOf: bytes)
            }
            return try body(UnsafeBufferPointer(buffer))
        }
    }

    static func failure(_ table: String) -> PersistenceError {
        PersistenceError.undecodable(table, column: "sealed value (it does not authenticate)")
    }
}

/// One AES-256-GCM context of libcrypto, keyed once, used under a lock: each call only sets a
/// new nonce.
final class GCMContext: @unchecked Sendable {
    // @unchecked: `context` is only used under `lock`.
    private let lock = NSLock()
    private let context: OpaquePointer

    /// `nil` unless `key` is 32 bytes (AES-256), or when libcrypto cannot set the context up.
    init?(key: [UInt8], encrypting: Bool) {
        guard key.count == 32, let context = EVP_CIPHER_CTX_new() else { return nil }
        self.context = context
        let ok = key.withUnsafeBufferPointer { key in
            encrypting
                ? EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, key.baseAddress, nil)
                : EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, key.baseAddress, nil)
        }
        guard ok == 1 else {
            EVP_CIPHER_CTX_free(context)
            return nil
        }
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// The next nonce: a random 96-bit start, drawn once per context, plus the number of seals
    /// so far (added to its low 64 bits). Two contexts with the same key (two processes) draw
    /// their starts independently, so their nonces collide no more often than random ones
    /// would, without a call to the random generator for every row.
    // Only touched under `lock`: no dynamic exclusivity checks needed (they cost more than the
    // AES itself here).
    @exclusivity(unchecked) private var nonceBase = [UInt8](repeating: 0, count: 12)
    @exclusivity(unchecked) private var sealed: UInt64 = 0

    /// Writes the 12-byte nonce at `nonce`, then the ciphertext and the 16-byte tag at `output`.
    func seal(
        _ message: UnsafeBufferPointer<UInt8>, aad: UnsafeBufferPointer<UInt8>,
        nonceInto nonce: UnsafeMutablePointer<UInt8>, output: UnsafeMutablePointer<UInt8>, table: String
    ) throws {
        try lock.withLock {
            if sealed == 0 {
                guard RAND_bytes(&nonceBase, 12) == 1 else { throw FieldCipher.failure(table) }
            }
            var low: UInt64 = 0
            for index in 4..<12 { low = low << 8 | UInt64(nonceBase[index]) }
            low &+= sealed
            sealed += 1
            for index in 0..<4 { nonce[index] = nonceBase[index] }
            for index in 0..<8 { nonce[4 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(index))) }
            // Each call must return exactly 1 (some return -1 or 0 on failure).
            var length: Int32 = 0
            guard EVP_EncryptInit_ex(context, nil, nil, nil, nonce) == 1,
                EVP_EncryptUpdate(context, nil, &length, aad.baseAddress, Int32(aad.count)) == 1,
                message.isEmpty
                    || EVP_EncryptUpdate(context, output, &length, message.baseAddress, Int32(message.count)) == 1,
                EVP_EncryptFinal_ex(context, output + message.count, &length) == 1,
                EVP_CIPHER_CTX_ctrl(context, pg_evp_ctrl_aead_get_tag, 16, output + message.count) == 1
            else { throw FieldCipher.failure(table) }
        }
    }

    func open(
        nonce: UnsafePointer<UInt8>, ciphertext: UnsafePointer<UInt8>, count: Int, tag: UnsafePointer<UInt8>,
        aad: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>?, table: String
    ) throws {
        try lock.withLock {
            // Each call must return exactly 1; the final one checks the tag.
            var length: Int32 = 0
            var scratch: (UInt64, UInt64) = (0, 0)
            guard EVP_DecryptInit_ex(context, nil, nil, nil, nonce) == 1,
                EVP_DecryptUpdate(context, nil, &length, aad.baseAddress, Int32(aad.count)) == 1,
                count == 0 || EVP_DecryptUpdate(context, output, &length, ciphertext, Int32(count)) == 1,
                EVP_CIPHER_CTX_ctrl(context, pg_evp_ctrl_aead_set_tag, 16, UnsafeMutableRawPointer(mutating: tag))
                    == 1,
                withUnsafeMutableBytes(
                    of: &scratch,
                    {
                        EVP_DecryptFinal_ex(context, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
                    }) == 1
            else { throw FieldCipher.failure(table) }
        }
    }
}
