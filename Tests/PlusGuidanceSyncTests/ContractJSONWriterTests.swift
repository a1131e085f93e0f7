import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import Testing

/// The writer the C library uses for message lists and events makes exactly what
/// JSONSerialization makes of the contract's dictionary, whatever a body holds.
@Suite struct ContractJSONWriterTests {
    static let bodies = [
        "plain", "", "quote \" backslash \\ slash / url https://x.y/z", "lines\nand\r\ttabs\u{8}\u{C}",
        "controls \u{0}\u{1}\u{1F}\u{7F}", "é, 😀, \u{2028}\u{2029}, \u{202E}bidi",
        String(repeating: "long ", count: 500),
    ]

    static func message(_ body: String, offer: Bool, read: Bool) -> Message {
        Message(
            id: "msg_1", conversationID: ConversationID(therapistID: "usr_t", clientID: "usr_a"), senderID: "usr_t",
            recipientID: "usr_a", kind: offer ? .sessionOffer : .text, body: body,
            createdAt: Date(timeIntervalSince1970: 1_800_000_000.123), offerID: offer ? "off_1" : nil,
            sessionID: offer ? "ses_1" : nil, deliveryState: offer ? .sent : .pending,
            readAt: read ? Date(timeIntervalSince1970: 1_800_000_100) : nil)
    }

    @Test(arguments: bodies) func aMessageIsWrittenAsJSONSerializationWritesIt(body: String) throws {
        for (offer, read) in [(false, false), (true, true), (false, true)] {
            let message = Self.message(body, offer: offer, read: read)
            var writer = ContractJSONWriter()
            writer.message(message)
            #expect(writer.text == (try ContractJSON.encoded(ContractJSON.message(message))))
            var event = ContractJSONWriter()
            event.messageEvent(message, change: "new")
            let line: [String: Any] = ["event": "message", "change": "new", "message": ContractJSON.message(message)]
            #expect(event.text == (try ContractJSON.encoded(line)))
        }
    }

    @Test func aListIsAnArrayOfThem() throws {
        let messages = Self.bodies.map { Self.message($0, offer: false, read: false) }
        var writer = ContractJSONWriter()
        writer.messages(messages)
        #expect(writer.text == (try ContractJSON.encoded(messages.map(ContractJSON.message))))
        var empty = ContractJSONWriter()
        empty.messages([])
        #expect(empty.text == "[]")
    }
}
