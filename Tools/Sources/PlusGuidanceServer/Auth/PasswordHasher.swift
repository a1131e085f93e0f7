import Crypto
import CryptoExtras
import Foundation

/// Stores passwords as scrypt hashes (RFC 7914), never as text.
///
/// The stored form is `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`, so the cost can be raised
/// later without invalidating existing hashes.
public struct PasswordHasher: Sendable {
    /// scrypt parameters.
    public struct Cost: Sendable, Hashable {
        public var rounds: Int
        public var blockSize: Int
        public var parallelism: Int

        /// N = 2^15, r = 8, p = 1: 32 MiB and tens of milliseconds per hash (RFC 7914 §2's
        /// interactive-login recommendation, raised one step).
        public static let standard = Cost(rounds: 1 << 15, blockSize: 8, parallelism: 1)
        /// For tests only: cheap enough to create accounts by the dozen.
        public static let testing = Cost(rounds: 1 << 10, blockSize: 8, parallelism: 1)
    }

    var cost: Cost

    func hash(_ password: String) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = generator.next() }
        let key = try derive(password, salt: salt, cost: cost)
        return
            "scrypt$\(cost.rounds)$\(cost.blockSize)$\(cost.parallelism)$\(Data(salt).base64EncodedString())$\(key.base64EncodedString())"
    }

    /// Whether `password` matches `stored`, compared in constant time.
    func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let n = Int(parts[1]), let r = Int(parts[2]),
            let p = Int(parts[3]), let salt = Data(base64Encoded: parts[4]),
            let expected = Data(base64Encoded: parts[5]),
            let actual = try? derive(password, salt: Array(salt), cost: Cost(rounds: n, blockSize: r, parallelism: p))
        else { return false }
        return actual.count == expected.count && zip(actual, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func derive(_ password: String, salt: [UInt8], cost: Cost) throws -> Data {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: cost.rounds,
            blockSize: cost.blockSize, parallelism: cost.parallelism)
        return key.withUnsafeBytes { Data($0) }
    }
}

/// Bearer tokens: 32 random bytes, URL-safe base64, with a prefix telling access from refresh
/// tokens apart. Only their SHA-256 is stored, so a copy of the database yields no usable token.
enum BearerToken {
    static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let text = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + text
    }

    static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A random identifier with a type prefix, e.g. `msg_3k9…`.
    static func identifier(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        return prefix + "_"
            + String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}
