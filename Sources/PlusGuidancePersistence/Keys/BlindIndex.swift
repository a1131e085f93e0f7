import CLibCrypto
import Foundation

/// Keyed fingerprints of secret values, for the cache's lookups that cannot open every row: an
/// e-mail address's (HMAC-SHA256) and the search index's word prefixes (SipHash-2-4). Both keys
/// are derived from the cache's data key (HMAC-SHA256 of a purpose label), so they are destroyed
/// with it at sign-out and a profile's copy without the key-encryption key tells nothing.
///
/// What a fingerprint tells someone holding the file without the key: which rows share a value
/// (the same e-mail address, the same word prefix), never the value.
public struct BlindIndex: Sendable {
    private let emailKey: [UInt8]
    private let wordKey: (UInt64, UInt64)

    /// The keys derived from a data key (``FieldCipher/blindIndex``); fixed, public keys for
    /// ``FieldCipher/unencrypted`` (`nil`: the benchmarks' baseline only).
    init(rootKey: [UInt8]?) {
        let root = rootKey ?? [UInt8](repeating: 0, count: 32)
        emailKey = Self.hmac(key: root, Array("plusguidance e-mail index v1".utf8))
        let word = Self.hmac(key: root, Array("plusguidance search index v1".utf8))
        wordKey = (Self.littleEndian(word, 0), Self.littleEndian(word, 8))
    }

    /// The fingerprint of an e-mail address, compared without case: 16 bytes of HMAC-SHA256.
    public func email(_ address: String) -> Data {
        Data(Self.hmac(key: emailKey, Array(address.lowercased().utf8)).prefix(16))
    }

    /// The fingerprint of a folded word prefix (its UTF-8 bytes).
    func word(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        SipHash24.hash(bytes, key: wordKey)
    }

    /// SipHash-2-4 of `bytes` with the reference vectors' key (00…0f), for their test.
    @_spi(PlusGuidanceTools) public static func sipHashForTesting(_ bytes: [UInt8]) -> UInt64 {
        let key: (UInt64, UInt64) = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908)
        let hash = bytes.withUnsafeBufferPointer { SipHash24.hash($0, key: key) }
        // The short form must agree with the general one on what it takes.
        guard bytes.count < 8 else { return hash }
        let packed = bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return SipHash24.hashShort(packed, count: bytes.count, key: key) == hash ? hash : 0
    }

    /// The fingerprint of a prefix of at most 7 bytes, packed little-endian in `packed`: the
    /// same value as ``word(_:)`` of those bytes, without a buffer.
    @inline(__always) func word(packed: UInt64, count: Int) -> UInt64 {
        SipHash24.hashShort(packed, count: count, key: wordKey)
    }

    static func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        let done = key.withUnsafeBufferPointer { key in
            message.withUnsafeBufferPointer { message in
                HMAC(
                    EVP_sha256(), key.baseAddress, Int32(key.count), message.baseAddress, message.count, &out,
                    &length)
            }
        }
        // One-shot HMAC-SHA256 fails only when libcrypto cannot allocate: nothing could be sealed.
        guard done != nil, length == 32 else { fatalError("libcrypto's HMAC-SHA256 failed") }
        return out
    }

    private static func littleEndian(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
}

/// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed pseudo-random function with a 128-bit key
/// and a 64-bit output, made for short inputs; here, word prefixes of a few bytes, tens of them
/// per message, where HMAC-SHA256 through libcrypto cost a microsecond each.
enum SipHash24 {
    /// SipHash-2-4 of at most 7 bytes, packed little-endian: only the final block.
    @inline(__always) static func hashShort(_ packed: UInt64, count: Int, key: (UInt64, UInt64)) -> UInt64 {
        var state = State(key)
        let last = UInt64(truncatingIfNeeded: count) << 56 | packed
        state.v3 ^= last
        state.round()
        state.round()
        state.v0 ^= last
        return state.finish()
    }

    struct State {
        var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64

        @inline(__always) init(_ key: (UInt64, UInt64)) {
            v0 = key.0 ^ 0x736f_6d65_7073_6575
            v1 = key.1 ^ 0x646f_7261_6e64_6f6d
            v2 = key.0 ^ 0x6c79_6765_6e65_7261
            v3 = key.1 ^ 0x7465_6462_7974_6573
        }

        @inline(__always) mutating func round() {
            v0 &+= v1
            v1 = v1 << 13 | v1 >> 51
            v1 ^= v0
            v0 = v0 << 32 | v0 >> 32
            v2 &+= v3
            v3 = v3 << 16 | v3 >> 48
            v3 ^= v2
            v0 &+= v3
            v3 = v3 << 21 | v3 >> 43
            v3 ^= v0
            v2 &+= v1
            v1 = v1 << 17 | v1 >> 47
            v1 ^= v2
            v2 = v2 << 32 | v2 >> 32
        }

        @inline(__always) mutating func finish() -> UInt64 {
            v2 ^= 0xff
            round()
            round()
            round()
            round()
            return v0 ^ v1 ^ v2 ^ v3
        }
    }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, key: (UInt64, UInt64)) -> UInt64 {
        var state = State(key)
        let count = bytes.count
        let whole = count & ~7
        var index = 0
        while index < whole {
            var m: UInt64 = 0
            for byte in 0..<8 { m |= UInt64(bytes[index + byte]) << (8 * UInt64(byte)) }
            state.v3 ^= m
            state.round()
            state.round()
            state.v0 ^= m
            index += 8
        }
        var last = UInt64(truncatingIfNeeded: count) << 56
        for byte in 0..<(count - whole) { last |= UInt64(bytes[whole + byte]) << (8 * UInt64(byte)) }
        state.v3 ^= last
        state.round()
        state.round()
        state.v0 ^= last
        return state.finish()
    }
}
