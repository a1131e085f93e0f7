import Foundation

/// The canonical body of a batch action, written directly: byte for byte what
/// `JSONSerialization.data(withJSONObject:options: [.sortedKeys])` writes for an object of
/// strings, which a single request's fingerprint takes (`Request.fingerprint(method:path:body:)`).
///
/// A batch of 100 texts spent about a sixth of the server's time in `JSONSerialization` making
/// these bodies (perf, `PG_SYNC_BENCH=drain`). Its escapes: `"`, `\` and `/` with a backslash,
/// `\b \t \n \f \r` by name, the other control characters as `\u00xx` in lowercase hex, and
/// everything else, DEL and non-ASCII included, as its own UTF-8. A test compares the two on
/// every ASCII character and random Unicode, so fingerprints stored before stay valid.
package enum CanonicalJSON {
    /// `{"key":"value",…}` with the keys in `String` order.
    package static func object(_ members: [(key: String, value: String)]) -> Data {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (index, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            append(member.key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            append(member.value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return Data(bytes)
    }

    /// A string as a JSON string, quotes included, with the escapes above.
    package static func string(_ text: String) -> String {
        var bytes: [UInt8] = []
        append(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func append(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes += [UInt8(ascii: "\\"), byte]
            case 0x08: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0C: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0..<0x20:
                bytes += Array(#"\u00"#.utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
