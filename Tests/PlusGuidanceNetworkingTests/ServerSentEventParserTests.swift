import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import PropertyBased
import Testing

@Suite struct ServerSentEventParserTests {
    func parse(_ text: String) -> [ServerSentEventItem] {
        var parser = ServerSentEventParser()
        return (try? parser.feed(Data(text.utf8))) ?? []
    }

    /// An unterminated line, or an event of endless data lines, is refused at the bound instead
    /// of growing memory; whatever came before the bound was delivered.
    @Test func aLineOrAnEventPastTheBoundsIsRefused() throws {
        var parser = ServerSentEventParser()
        parser.maximumLineBytes = 1_000
        #expect(try parser.feed(Data(": hb\n\n".utf8)) == [.comment("hb")])
        let endless = Data("data: ".utf8) + Data(repeating: UInt8(ascii: "x"), count: 600)
        #expect(try parser.feed(endless).isEmpty)
        #expect(throws: ServerSentEventParser.Overflow(limit: 1_000)) { try parser.feed(endless) }

        var events = ServerSentEventParser()
        events.maximumEventBytes = 2_000
        let line = Data("data: \(String(repeating: "y", count: 500))\n".utf8)
        #expect(try events.feed(line + line + Data("\n".utf8)).count == 1)
        #expect(throws: ServerSentEventParser.Overflow(limit: 2_000)) {
            for _ in 0..<5 { _ = try events.feed(line) }
        }
    }

    @Test func fieldsDataLinesIdsAndDefaults() {
        let items = parse("event: change\nid: c1\ndata: {\"a\":1}\ndata: second line\n\ndata:no space\n\n")
        #expect(
            items == [
                .event(ServerSentEvent(type: "change", data: "{\"a\":1}\nsecond line", lastEventID: "c1", retry: nil)),
                .event(ServerSentEvent(type: "message", data: "no space", lastEventID: "c1", retry: nil)),
            ])
    }

    @Test func commentsAreHeartbeatsAndRetryIsReported() {
        #expect(parse(": heartbeat\n\nretry: 2000\n\n") == [.comment("heartbeat"), .retry(2000)])
        #expect(parse("retry: 20s\n\n").isEmpty)
    }

    @Test func crLfAndCrLineEndsAndABOMAreAccepted() {
        let expected: [ServerSentEventItem] = [
            .event(ServerSentEvent(type: "message", data: "x", lastEventID: "", retry: nil))
        ]
        #expect(parse("data: x\r\n\r\n") == expected)
        #expect(parse("data: x\r\r") == expected)
        #expect(parse("\u{FEFF}data: x\n\n") == expected)
    }

    @Test func anIncompleteEventIsNotDispatchedAndAnIdWithNULIsIgnored() {
        #expect(parse("data: never finished\n").isEmpty)
        let items = parse("id: good\ndata: a\n\nid: bad\u{0}id\ndata: b\n\n")
        #expect(items.last == .event(ServerSentEvent(type: "message", data: "b", lastEventID: "good", retry: nil)))
    }

    @Test func anyChunkingGivesTheSameItems() async throws {
        let stream =
            "retry: 1500\n\n: hb\n\nid: 1\nevent: change\ndata: Grüße 🙂\n\nid: 2\r\ndata: two\r\ndata: lines\r\n\r\n: hb\n\ndata: crlf\r\rdata: last\n\n"
        let bytes = Array(stream.utf8)
        var whole = ServerSentEventParser()
        let expected = try whole.feed(Data(bytes))
        #expect(expected.count == 7)
        await propertyCheck(count: 500, input: Gen.int(in: 1...bytes.count).array(of: 0...12)) { cuts in
            var parser = ServerSentEventParser()
            var items: [ServerSentEventItem] = []
            var start = 0
            for cut in (cuts.sorted() + [bytes.count]) where cut > start {
                items += (try? parser.feed(Data(bytes[start..<cut]))) ?? []
                start = cut
            }
            #expect(items == expected)
        }
    }
}
