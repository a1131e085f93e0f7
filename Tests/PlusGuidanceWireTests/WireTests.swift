import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import PlusGuidanceTesting
@_spi(PlusGuidanceTools) import PlusGuidanceWire
import Testing

/// The contract's JSON shapes, written once: what the server encodes from a Domain value maps
/// back to the same value in the SDK, and what lies outside the contract is refused by field.
@Suite("Wire contract")
struct WireTests {
    /// Encodes as the server does and decodes as the SDK does.
    private func transported<Wire: Codable>(_ wire: Wire) throws -> Wire {
        try JSONDecoder().decode(Wire.self, from: try JSONEncoder().encode(wire))
    }

    /// Why `body` was refused; `nil` when it was not, or not by the contract.
    private func refusal(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return (error as? WireError)?.reason
        }
    }

    @Test func everyEntityCrossesTheWireUnchanged() throws {
        let message = Fixtures.message("msg_1", at: 0.25, body: "Bis morgen 👋", fromTherapist: true)
        #expect(try transported(MessageWire(message)).domain() == message)
        var system = Fixtures.message("msg_2", body: "Session offered")
        system.kind = .sessionOffer
        system.offerID = OfferID("off_1")
        system.sessionID = SessionID("ses_1")
        #expect(try transported(MessageWire(system)).domain() == system)

        for state in [SessionOffer.State.pending, .accepted, .declined, .expired] {
            var offer = Fixtures.offer("off_\(state)", at: 60, state: state)
            offer.startsAt = state == .pending ? Fixtures.epoch + 3_600 : nil
            #expect(try transported(OfferWire(offer)).domain() == offer)
        }
        let running = Fixtures.session("ses_run", minutes: 45)
        let ended = Fixtures.session("ses_end", minutes: 30, endedAt: 1_234.5)
        for session in [running, ended] {
            #expect(try transported(SessionWire(session, at: Fixtures.epoch + 600)).domain() == session)
        }
        #expect(try transported(UserWire(Fixtures.therapist)).domain() == Fixtures.therapist)

        let changes: [Change] = [
            .user(Fixtures.alice), .message(message), .offer(Fixtures.offer("off_9")), .session(running),
            .deleted(.user(UserID("usr_x"))), .deleted(.message(MessageID("msg_x"))),
            .deleted(.offer(OfferID("off_x"))), .deleted(.session(SessionID("ses_x"))),
        ]
        let page = FeedPageWire(
            changes: changes.map { ChangeWire($0, at: Fixtures.epoch) }, cursor: "c_42", hasMore: true, remaining: 7)
        #expect(
            try transported(page).domain()
                == ChangePage(changes: changes, cursor: FeedCursor("c_42"), hasMore: true, remaining: 7))
    }

    @Test func theServersDerivedSessionMembersAreWrittenAndNotNeeded() throws {
        let session = Fixtures.session("ses_1", minutes: 50)
        let wire = SessionWire(session, at: Fixtures.epoch + 600)
        #expect(wire.state == "inProgress")
        #expect(wire.remainingSeconds == 40 * 60)
        #expect(wire.attendPath == session.attendPath)
        // An answer without them (and with members the SDK does not know) maps all the same.
        let bare = #"""
            {"id":"ses_1","offerId":"off_ses_1","therapistId":"usr_theo","clientId":"usr_alice","type":"video",
             "startsAt":"2027-01-15T08:00:00.000Z","durationMinutes":50,"colour":"teal"}
            """#
        let mapped = try JSONDecoder().decode(SessionWire.self, from: Data(bare.utf8)).domain()
        #expect(mapped.durationMinutes == 50)
        #expect(mapped.startsAt == RFC3339.date("2027-01-15T08:00:00Z"))
    }

    @Test func aValueOutsideTheContractIsRefusedNamingItsField() throws {
        var session = SessionWire(Fixtures.session("ses_1"), at: Fixtures.epoch)
        session.durationMinutes = Int.max
        #expect(refusal { _ = try session.domain() }?.hasPrefix("durationMinutes 9223372036854775807 outside") == true)
        session.durationMinutes = -5
        #expect(refusal { _ = try session.domain() }?.hasPrefix("durationMinutes -5 outside") == true)

        var message = MessageWire(Fixtures.message("msg_1"))
        message.createdAt = "yesterday"
        #expect(refusal { _ = try message.domain() } == "createdAt is not an RFC 3339 time")
        message = MessageWire(Fixtures.message("msg_1", body: String(repeating: "x", count: 8_193)))
        #expect(refusal { _ = try message.domain() } == "body of 8193 bytes outside 0...8192")
        message = MessageWire(Fixtures.message(""))
        #expect(refusal { _ = try message.domain() } == "message id of 0 bytes outside 1...255")
        message = MessageWire(Fixtures.message("msg_1"))
        message.conversationId = "not a conversation"
        #expect(refusal { _ = try message.domain() } == "malformed conversationId")

        var user = UserWire(Fixtures.alice)
        user.role = "admin"
        #expect(refusal { _ = try user.domain() } == "unknown role of 5 bytes")
        user.role = "Bis morgen, Alice"  // whatever a server puts there never reaches the reason
        #expect(refusal { _ = try user.domain() }?.contains("Alice") == false)

        var change = ChangeWire(.deleted(.offer(OfferID("off_1"))), at: Fixtures.epoch)
        change.op = "merge"
        #expect(refusal { _ = try change.domain() } == "unusable change (merge offer)")
        change = ChangeWire(entity: "message", id: "msg_1", op: "upsert")
        #expect(refusal { _ = try change.domain() } == "unusable change (upsert message)")

        // One bad change refuses the whole page.
        var page = FeedPageWire(
            changes: [ChangeWire(.message(Fixtures.message("msg_1")), at: Fixtures.epoch), ChangeWire(change)],
            cursor: "c_1", hasMore: false, remaining: nil)
        #expect(refusal { _ = try page.domain() } == "unusable change (upsert message)")
        page.changes.removeLast()
        page.remaining = -1
        #expect(refusal { _ = try page.domain() }?.hasPrefix("remaining -1 outside") == true)

        let tokens = TokensWire(
            accessToken: "", refreshToken: "r", expiresIn: 900, refreshExpiresIn: 86_400,
            user: UserWire(Fixtures.alice))
        #expect(refusal { _ = try tokens.domain() } == "accessToken of 0 bytes outside 1...8192")
        var lifetimes = tokens
        lifetimes.accessToken = "a"
        lifetimes.expiresIn = 0
        #expect(refusal { _ = try lifetimes.domain() }?.hasPrefix("expiresIn 0 outside") == true)
    }

    @Test func aBatchResultsBodyIsToldApartByItsMembers() throws {
        let message = Fixtures.message("msg_1")
        let offer = Fixtures.offer("off_1", state: .accepted)
        let session = Fixtures.session("ses_1")
        let problem = ProblemWire(
            type: "https://plusguidance.example/problems/offer_expired", title: "The offer has expired", status: 409,
            detail: nil, code: "offer_expired")
        let bodies: [BatchBodyWire] = [
            .message(MessageWire(message)), .answer(AnswerWire(offer: OfferWire(offer), session: nil)),
            .session(SessionWire(session, at: Fixtures.epoch)), .problem(problem),
        ]
        let decoded = try bodies.map(transported)
        guard case .message(let m) = decoded[0], case .answer(let a) = decoded[1], case .session(let s) = decoded[2],
            case .problem(let p) = decoded[3]
        else {
            Issue.record("bodies decoded as \(decoded)")
            return
        }
        #expect(try m.domain() == message)
        #expect(try a.domain().0 == offer)
        #expect(try s.domain() == session)
        #expect(p == problem)
    }

    @Test func aBatchActionCarriesWhatItsOwnRequestWould() throws {
        let chosen = MessageID(sender: Fixtures.theoAlice.clientID, nonce: "1").rawValue
        let message = Fixtures.message(chosen, body: "Hi")
        let send = BatchAction(key: "k1", .sendMessage(message))
        #expect(send.op == "send_message")
        #expect(send.peer == message.recipientID.rawValue)
        #expect(send.id == chosen)
        #expect(send.body == "Hi")
        #expect(SendMessageRequest(message).id == chosen)
        // An id outside the sender's namespace (queued by an SDK before 0.5) is left out, in a
        // batch as in a single request: the server assigns one rather than refusing the text.
        let legacy = Fixtures.message("msg_1", body: "Hi")
        #expect(BatchAction(key: "k1", .sendMessage(legacy)).id == nil)
        #expect(SendMessageRequest(legacy).id == nil)
        #expect(BatchAction(key: "k2", .acceptOffer(OfferID("off_1"))).offer == "off_1")
        #expect(BatchAction(key: "k3", .declineOffer(OfferID("off_2"))).op == "decline_offer")
        let stop = BatchAction(key: "k4", .stopSession(SessionID("ses_1")))
        #expect(stop.op == "stop_session")
        #expect(stop.session == "ses_1")
        // Members an action does not use are left out of the JSON, not sent as null.
        let json = String(decoding: try JSONEncoder().encode(stop), as: UTF8.self)
        #expect(!json.contains("null"))
        #expect(!json.contains("peer"))
        let mark = ReadMark(
            conversationID: Fixtures.theoAlice.conversationID, peerID: Fixtures.therapist.id, messageID: "msg_9",
            upTo: Fixtures.epoch)
        let read = BatchAction(key: "k5", .markRead(mark))
        #expect(read.op == "mark_read")
        #expect(read.peer == Fixtures.therapist.id.rawValue)
        #expect(read.id == "msg_9")
    }

    @Test func aReadPositionRoundTripsAndNamesOneOfItsPair() throws {
        let position = ReadPosition(
            conversationID: Fixtures.theoAlice.conversationID, readerID: Fixtures.alice.id, messageID: "msg_1",
            upTo: Fixtures.epoch, readAt: Fixtures.epoch + 5)
        let change = ChangeWire(.read(position), at: Fixtures.epoch)
        #expect(change.entity == "read")
        let decoded = try JSONDecoder().decode(ChangeWire.self, from: try JSONEncoder().encode(change))
        #expect(try decoded.domain() == .read(position))
        // A batch result that is a read position is told from a message by its members.
        let body = try JSONDecoder().decode(
            BatchBodyWire.self, from: try JSONEncoder().encode(ReadPositionWire(position)))
        guard case .read(let wire) = body else {
            Issue.record("decoded as \(body)")
            return
        }
        #expect(try wire.domain() == position)
        // A reader outside the pair is outside the contract: the page is refused.
        var stranger = ReadPositionWire(position)
        stranger.readerId = Fixtures.bob.id.rawValue
        #expect(throws: WireError.self) { try stranger.domain() }
    }
}

extension ChangeWire {
    fileprivate init(_ wire: ChangeWire) { self = wire }
}
