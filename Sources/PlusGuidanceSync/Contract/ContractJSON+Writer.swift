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
        bytes.append(0x5B)  // [
        for (index, message) in messages.enumerated() {
            if index > 0 { bytes.append(0x2C) }
            self.message(message)
        }
        bytes.append(0x5D)
    }

    /// `pg watch --json`'s line for a message: `{change, event: "message", message}`.
    public mutating func messageEvent(_ m: Message, change: String) {
        key("change", first: true)
        string(change)
        key("event")
        string("message")
        key("message")
        message(m)
        bytes.append(0x7D)
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
        bytes.append(0x7D)  // }
    }

    private mutating func key(_ name: StaticString, first: Bool = false) {
        bytes.append(first ? 0x7B : 0x2C)  // { or ,
        bytes.append(0x22)
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(0x22)
        bytes.append(0x3A)
    }

    private mutating func time(_ date: Date?) {
        guard let date else {
            let null: StaticString = "null"
            return bytes.append(contentsOf: UnsafeBufferPointer(start: null.utf8Start, count: null.utf8CodeUnitCount))
        }
        string(WireDecoding.timeString(date))
    }

    /// A JSON string: `"` and `\` escaped, control characters as JSONSerialization writes them.
    private mutating func string(_ value: String) {
        bytes.append(0x22)
        var value = value
        value.withUTF8 { utf8 in
            // Most text needs no escape: copied in one go.
            if !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
                bytes.append(contentsOf: utf8)
                return
            }
            for byte in utf8 { escaped(byte) }
        }
        bytes.append(0x22)
    }

    private mutating func escaped(_ byte: UInt8) {
        let short: UInt8? =
            switch byte {
            case 0x22: 0x22  // "
            case 0x5C: 0x5C  // \
            case 0x0A: UInt8(ascii: "n")
            case 0x0D: UInt8(ascii: "r")
            case 0x09: UInt8(ascii: "t")
            case 0x08: UInt8(ascii: "b")
            case 0x0C: UInt8(ascii: "f")
            default: nil
            }
        if let short {
            bytes.append(0x5C)
            bytes.append(short)
        } else if byte < 0x20 {
            let hex: StaticString = "0123456789abcdef"
            bytes.append(0x5C)
            bytes.append(UInt8(ascii: "u"))
            bytes.append(UInt8(ascii: "0"))
            bytes.append(UInt8(ascii: "0"))
            bytes.append(hex.utf8Start[Int(byte >> 4)])
            bytes.append(hex.utf8Start[Int(byte & 0x0F)])
        } else {
            bytes.append(byte)
        }
    }
}
