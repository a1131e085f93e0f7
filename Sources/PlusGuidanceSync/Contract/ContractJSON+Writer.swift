import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

/// Compact JSON written straight from the entities, for the paths that carry many of them
/// (the C library's message lists and events): no dictionary of `Any` per entity and no
/// JSONSerialization pass. The output is byte for byte what ``ContractJSON/encoded(_:)`` makes
/// of the same entity's dictionary (sorted keys, slashes unescaped); a test holds them equal.
@_spi(PlusGuidanceTools) public struct ContractJSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init() { bytes.reserveCapacity(4_096) }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func messages(_ messages: some Sequence<Message>) {
        bytes.append(UInt8(ascii: "["))
        for (index, message) in messages.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            self.message(message)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// `{body, createdAt, deliveryState, id, kind, offerId?, readAt, recipientId, senderId, sessionId?}`
    public mutating func message(_ m: Message) {
        key("body", first: true)
        string(m.body)
        key("createdAt")
        time(m.createdAt)
        key("deliveryState")
        string(m.deliveryState.rawValue)
        key("id")
        string(m.id.rawValue)
        key("kind")
        string(m.kind.rawValue)
        if let offer = m.offerID {
            key("offerId")
            string(offer.rawValue)
        }
        key("readAt")
        time(m.readAt)
        key("recipientId")
        string(m.recipientID.rawValue)
        key("senderId")
        string(m.senderID.rawValue)
        if let session = m.sessionID {
            key("sessionId")
            string(session.rawValue)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    private mutating func key(_ name: StaticString, first: Bool = false) {
        bytes.append(UInt8(ascii: first ? "{" : ","))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    private mutating func time(_ date: Date?) {
        guard let date else { return bytes.append(contentsOf: Array("null".utf8)) }
        string(WireDecoding.timeString(date))
    }

    /// A JSON string: `"` and `\` escaped, control characters as JSONSerialization writes them.
    private mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
