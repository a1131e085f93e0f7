import Foundation
import PlusGuidanceServer
import PlusGuidanceTesting
import Testing

/// A batch action's canonical body is the bytes `JSONSerialization` writes for the same object
/// with sorted keys, which its own request's fingerprint takes: otherwise replaying a key in
/// another split would answer 409, and fingerprints stored before would no longer match.
@Suite struct CanonicalJSONTests {
    private func reference(_ members: [(key: String, value: String)]) throws -> Data {
        let object = Dictionary(uniqueKeysWithValues: members.map { ($0.key, $0.value) })
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    @Test func everyASCIICharacterIsWrittenAsJSONSerializationWritesIt() throws {
        for byte in UInt8(0)..<0x80 {
            let text = "a" + String(Character(Unicode.Scalar(byte))) + "z"
            let members = [(key: "id", value: "msg_\(byte)"), (key: "body", value: text)]
            #expect(CanonicalJSON.object(members) == (try reference(members)), "byte \(byte)")
        }
        let read = [(key: "messageId", value: "msg_usr_alice.1/2")]
        #expect(CanonicalJSON.object(read) == (try reference(read)))
    }

    @Test func randomTextIsWrittenAsJSONSerializationWritesIt() throws {
        var random = SeededGenerator(seed: 0xCA70)
        let planes: [ClosedRange<UInt32>] = [
            0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x1_0000...0x10_FFFF,
        ]
        for _ in 0..<3_000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...24, using: &random) {
                let plane = planes.randomElement(using: &random)!
                if let scalar = Unicode.Scalar(UInt32.random(in: plane, using: &random)) {
                    text.unicodeScalars.append(scalar)
                }
            }
            let members = [(key: "body", value: text), (key: "id", value: "msg_usr_alice.x")]
            #expect(CanonicalJSON.object(members) == (try reference(members)), "\(text.unicodeScalars.map(\.value))")
        }
    }
}
