import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import PlusGuidanceTesting
@_spi(PlusGuidanceTools) import PlusGuidanceWire
import Testing

/// The feed's fast reader against `JSONDecoder`, the authority, on the same bytes: it reads what
/// the server writes to the same values, and leaves to `JSONDecoder` whatever it is not certain
/// of, never reading a page otherwise.
@Suite("Feed page reader")
struct FeedPageReaderTests {
    private func reference(_ data: Data) -> FeedPageWire? {
        try? JSONDecoder().decode(FeedPageWire.self, from: data)
    }

    /// A page with every entity kind, optional members set and unset, and bodies that need
    /// escapes: quotes, backslashes, control characters, slashes, emoji and other scripts.
    private func page(
        bodies: [String] = ["Hello", "Bis morgen 👋", "say \"hi\"\\\n\ttab\u{1} /slash/", "日本語テキスト"]
    )
        -> FeedPageWire
    {
        var changes: [Change] = [.user(Fixtures.alice), .user(Fixtures.therapist)]
        for (index, body) in bodies.enumerated() {
            var message = Fixtures.message(
                "msg_\(index)", at: Double(index) * 0.25, body: body, fromTherapist: index % 2 == 0)
            if index == 1 { message.readAt = Fixtures.epoch + 60 }
            changes.append(.message(message))
        }
        var system = Fixtures.message("msg_system", body: "Session offered")
        system.kind = .sessionOffer
        system.offerID = OfferID("off_1")
        system.sessionID = SessionID("ses_1")
        changes.append(.message(system))
        var pending = Fixtures.offer("off_1", at: 60, state: .pending)
        pending.startsAt = Fixtures.epoch + 3_600
        changes += [.offer(pending), .offer(Fixtures.offer("off_2", at: 90, state: .declined))]
        changes += [
            .session(Fixtures.session("ses_run", minutes: 45)),
            .session(Fixtures.session("ses_end", minutes: 30, endedAt: 1_234.5)),
        ]
        let conversation = CareRelation(therapistID: Fixtures.therapist.id, clientID: Fixtures.alice.id).conversationID
        changes.append(
            .read(
                ReadPosition(
                    conversationID: conversation, readerID: Fixtures.alice.id, messageID: MessageID("msg_0"),
                    upTo: Fixtures.epoch, readAt: Fixtures.epoch + 60)))
        changes += [.deleted(.message(MessageID("msg_x"))), .deleted(.user(UserID("usr_x")))]
        return FeedPageWire(
            changes: changes.map { ChangeWire($0, at: Fixtures.epoch) }, cursor: "c_42/x", hasMore: true, remaining: 7)
    }

    @Test(arguments: [
        JSONEncoder.OutputFormatting(), .sortedKeys, .prettyPrinted, .withoutEscapingSlashes,
        [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes],
    ])
    func readsWhatTheServerWritesAsJSONDecoderDoes(_ formatting: JSONEncoder.OutputFormatting) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        let wire = page()
        let data = try encoder.encode(wire)
        let read = try #require(FeedPageReader.read(data))
        #expect(read == wire)
        #expect(read == reference(data))
        // The last page of a feed: no remaining count, no more.
        let last = FeedPageWire(changes: [], cursor: "c_43", hasMore: false, remaining: nil)
        #expect(FeedPageReader.read(try encoder.encode(last)) == last)
    }

    @Test func readsUnknownMembersNullsAndWhitespaceAsJSONDecoderDoes() throws {
        let text = """
             \t{ "future": {"nested": [1, -2.5e+3, true, false, null, "\\u00e9\\ud83d\\ude00", {}, []]},
              "changes" : [
                { "op":"upsert", "entity":"message", "id":"msg_1", "extra": 0.5,
                  "message": { "readAt": null, "offerId": null, "createdAt": "2027-01-15T08:00:00.000Z",
                    "body": "caf\\u00e9 \\ud83d\\ude00 \\/ \\b\\f\\r", "kind": "text", "recipientId": "usr_theo",
                    "senderId": "usr_alice", "conversationId": "usr_theo~usr_alice", "id": "msg_1", "body2": 1 },
                  "user": null, "offer": null },
                { "entity": "offer", "id": "off_1", "op": "upsert", "offer": { "id": "off_1", "therapistId": "usr_theo",
                  "clientId": "usr_alice", "type": "video", "durationMinutes": 45, "requiresConfirmation": false,
                  "state": "pending", "createdAt": "2027-01-15T08:00:00.000Z", "expiresAt": "2027-01-15T08:15:00.000Z",
                  "startsAt": null } },
                { "entity": "session", "id": "ses_1", "op": "upsert", "session": { "id": "ses_1", "offerId": "off_1",
                  "therapistId": "usr_theo", "clientId": "usr_alice", "type": "video", "startsAt": "2027-01-15T09:00:00Z",
                  "durationMinutes": 50, "remainingSeconds": -0, "overtimeSeconds": 0, "state": "scheduled" } }
              ],
              "remaining": null, "cursor": "c_1", "hasMore": false }\r\n
            """
        let data = Data(text.utf8)
        let read = try #require(FeedPageReader.read(data))
        #expect(read == reference(data))
        #expect(read.changes[0].message?.body == "café 😀 / \u{8}\u{c}\r")
        #expect(read.changes[1].offer?.startsAt == nil)
        #expect(read.remaining == nil)
    }

    /// What the reader leaves to `JSONDecoder`, whichever way `JSONDecoder` then decides.
    @Test func leavesToJSONDecoderWhatItIsNotCertainOf() throws {
        let message =
            #""message":{"id":"m","conversationId":"t~c","senderId":"c","recipientId":"t","kind":"text","body":"x","createdAt":"2027-01-15T08:00:00.000Z"}"#
        func page(_ change: String, _ tail: String = #","cursor":"c","hasMore":false}"#) -> Data {
            Data((#"{"changes":["# + change + "]" + tail).utf8)
        }
        let plain = #"{"entity":"message","id":"m","op":"upsert","# + message + "}"
        #expect(FeedPageReader.read(page(plain)) != nil)
        let undecided: [(String, Data)] = [
            ("a duplicate member", page(#"{"entity":"message","id":"m","id":"n","op":"upsert","# + message + "}")),
            ("an escaped member name", page(#"{"entity":"message","\u0069d":"m","op":"upsert","# + message + "}")),
            ("a fraction", page(plain, #","cursor":"c","hasMore":false,"remaining":1.0}"#)),
            ("an exponent", page(plain, #","cursor":"c","hasMore":false,"remaining":1e2}"#)),
            ("a leading zero", page(plain, #","cursor":"c","hasMore":false,"remaining":01}"#)),
            ("an integer over Int", page(plain, #","cursor":"c","hasMore":false,"remaining":99999999999999999999}"#)),
            ("a lone surrogate", page(plain.replacingOccurrences(of: #""body":"x""#, with: #""body":"\ud800""#))),
            (
                "a raw control character",
                page(plain.replacingOccurrences(of: #""body":"x""#, with: "\"body\":\"\u{1}\""))
            ),
            ("a trailing comma", page(plain + ",")),
            ("bytes after the page", page(plain) + Data("x".utf8)),
            ("a byte order mark", Data([0xEF, 0xBB, 0xBF]) + page(plain)),
            ("a missing required member", page(#"{"entity":"message","op":"upsert","# + message + "}")),
            ("null for a required member", page(plain, #","cursor":null,"hasMore":false}"#)),
            ("a number for a string", page(plain.replacingOccurrences(of: #""body":"x""#, with: #""body":1"#))),
            (
                "deep nesting",
                page(
                    plain,
                    #","cursor":"c","hasMore":false,"x":"# + String(repeating: "[", count: 80)
                        + String(repeating: "]", count: 80) + "}")
            ),
            ("an empty body", Data()),
        ]
        var invalid = page(plain)
        invalid[invalid.firstRange(of: Data("\"x\"".utf8))!.lowerBound + 1] = 0xFF
        for (what, data) in undecided + [("invalid UTF-8", invalid)] {
            #expect(FeedPageReader.read(data) == nil, "\(what)")
        }
        // JSONDecoder accepts some of them (an escaped name is the same name); it refuses others.
        #expect(reference(page(#"{"entity":"message","\u0069d":"m","op":"upsert","# + message + "}")) != nil)
        #expect(reference(invalid) == nil)
    }

    /// Every truncation of a page is left to `JSONDecoder` (which refuses it).
    @Test func everyTruncatedPageIsLeftToJSONDecoder() throws {
        let data = try JSONEncoder().encode(page())
        for length in 0..<data.count {
            let prefix = data.prefix(length)
            #expect(FeedPageReader.read(prefix) == nil, "prefix of \(length) bytes")
            if length % 97 == 0 { #expect(reference(prefix) == nil) }
        }
    }

    /// Random edits of a page (bytes changed, inserted, removed, spans copied): whatever the
    /// reader reads, `JSONDecoder` reads to the same value.
    @Test func editedPagesAreReadAsJSONDecoderReadsThemOrLeftToIt() throws {
        let original = try JSONEncoder().encode(page())
        let alphabet = Array(#"{}[]":,\ 0123456789-+.eEtrufalsn"ubxXé"#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xFF]
        var random = SeededGenerator(seed: 0x5EED)
        var read = 0
        for _ in 0..<6_000 {
            var data = original
            for _ in 0...Int(random.next() % 3) {
                let at = Int(random.next() % UInt64(data.count))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 4 {
                case 0: data[at] = byte
                case 1: data.insert(byte, at: at)
                case 2: data.remove(at: at)
                default:
                    let length = min(Int(random.next() % 40), data.count - at)
                    data.insert(contentsOf: data[at..<(at + length)], at: Int(random.next() % UInt64(data.count)))
                }
            }
            guard let fast = FeedPageReader.read(data) else { continue }
            read += 1
            let slow = reference(data)
            #expect(slow == fast, "\(String(decoding: data, as: UTF8.self))")
        }
        // The edits must leave some pages readable, or the check above checks nothing.
        #expect(read > 300, "\(read) edited pages read")
    }
}
