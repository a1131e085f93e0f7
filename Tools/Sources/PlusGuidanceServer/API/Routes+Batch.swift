import Foundation
import GRDB
import Hummingbird
import NIOCore
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

/// `POST /v1/batch`: several queued actions in one request and one transaction.
///
/// Each action carries its own idempotency key and is stored, answered and replayed exactly as
/// its own request (`POST /v1/conversations/{peer}/messages`, `/v1/offers/{id}/accept`, …) would
/// be: the same fingerprint, the same stored answer. So a batch whose answer was lost can be
/// replayed in any split — as batches of other sizes or as single requests — and every action
/// is still applied once. Actions run in order; after a refused message, the later messages of
/// the same conversation are skipped (`"skipped": true`, nothing stored), as a client sending
/// one at a time stops its conversation there.
extension Routes {
    /// At most this many actions per batch.
    static let maximumBatchActions = 100

    /// A command of the API, as its own request would run it: the path and canonical body its
    /// fingerprint is taken over, the conversation whose order it keeps, and the command.
    struct ActionCommand: Sendable {
        var path: String
        var canonicalBody: Data
        var orderingKey: String?
        var run: @Sendable (GRDB.Database) throws -> StoredAnswer
    }

    func sendMessageCommand(user: User, peer: UserID, id: String?, body: String) throws -> ActionCommand {
        var members = [(key: "body", value: body)]
        if let id { members.append((key: "id", value: id)) }
        return ActionCommand(
            path: "/v1/conversations/\(Self.escape(peer.rawValue))/messages",
            canonicalBody: CanonicalJSON.object(members),
            orderingKey: "conversation " + peer.rawValue
        ) { [store] db in
            // Refused inside the command, so that the refusal is stored under the key.
            // Judged by its form alone, before any look-up, so that the answer says nothing of
            // which ids exist outside the caller's own namespace.
            if let id, !MessageID(id).isChosen(by: user.id) {
                throw APIError.invalidRequest(
                    "id must be msg_{your user id}.{1 to 64 letters, digits, '_' or '-'}")
            }
            let sent = try store.sendMessage(db, from: user, to: peer, id: id, body: body)
            return StoredAnswer(status: 201, contentType: "application/json", body: sent.json)
        }
    }

    func markReadCommand(user: User, peer: UserID, messageID: String) throws -> ActionCommand {
        ActionCommand(
            path: "/v1/conversations/\(Self.escape(peer.rawValue))/read",
            canonicalBody: CanonicalJSON.object([(key: "messageId", value: messageID)]),
            orderingKey: "conversation " + peer.rawValue
        ) { [store] db in
            let position = try store.markRead(db, by: user, peer: peer, messageID: MessageID(messageID))
            return try Self.answer(ReadPositionWire(position))
        }
    }

    func answerCommand(user: User, offer id: OfferID, accept: Bool) -> ActionCommand {
        ActionCommand(
            path: "/v1/offers/\(Self.escape(id.rawValue))/\(accept ? "accept" : "decline")", canonicalBody: Data(),
            orderingKey: nil
        ) { [store] db in
            let (offer, session) = try store.answer(db, offer: id, by: user, accept: accept)
            let now = store.clock.now()
            return try Self.answer(
                AnswerWire(offer: OfferWire(offer), session: session.map { SessionWire($0, at: now) }))
        }
    }

    func stopCommand(user: User, session id: SessionID) -> ActionCommand {
        ActionCommand(path: "/v1/sessions/\(Self.escape(id.rawValue))/stop", canonicalBody: Data(), orderingKey: nil) {
            [store] db in
            let session = try store.stop(db, session: id, by: user)
            return try Self.answer(SessionWire(session, at: store.clock.now()))
        }
    }

    /// A path component as clients put it in a URL (and so in a request's fingerprint).
    static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: pathComponentAllowed) ?? component
    }

    /// Made once: building it per action was 2% of a batch's time.
    private static let pathComponentAllowed = CharacterSet.urlPathAllowed.subtracting(
        CharacterSet(charactersIn: "/?&=#"))

    func batch(_ request: Request, _ context: APIContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        let (body, _) = try await request.decode(BatchRequest.self, limit: configuration.maximumBatchBodyBytes)
        guard (1...Self.maximumBatchActions).contains(body.actions.count) else {
            throw APIError.invalidRequest("actions must hold 1 to \(Self.maximumBatchActions) actions")
        }
        // Every action is checked before any runs: a malformed batch changes nothing.
        var items: [ServerStore.BatchItem] = []
        for (index, action) in body.actions.enumerated() {
            guard (1...255).contains(action.key.utf8.count) else {
                throw APIError.invalidRequest("actions[\(index)].key must be 1 to 255 bytes")
            }
            let command = try self.command(for: action, at: index, user: user)
            items.append(
                ServerStore.BatchItem(
                    key: action.key,
                    requestHash: Request.fingerprint(
                        method: "POST", path: command.path, canonicalBody: command.canonicalBody),
                    orderingKey: command.orderingKey, command: command.run))
        }
        let answers = try await store.idempotentBatch(user: user.id, items)
        if answers.contains(where: { $0.map { !$0.replayed && $0.answer.status < 300 } ?? false }) {
            await hub.changed()
        }
        // {"results":[{"key":…,"status":201,"replayed":false,"body":<the stored answer>}, …]}:
        // each body is the stored answer's own bytes.
        var output = ByteBuffer()
        output.writeString(#"{"results":["#)
        for (index, (action, answer)) in zip(body.actions, answers).enumerated() {
            if index > 0 { output.writeString(",") }
            output.writeString(#"{"key":"#)
            output.writeString(CanonicalJSON.string(action.key))
            if let answer {
                output.writeString(#","status":\#(answer.answer.status),"replayed":\#(answer.replayed),"body":"#)
                output.writeBytes(answer.answer.body)
                output.writeString("}")
            } else {
                output.writeString(#","skipped":true}"#)
            }
        }
        output.writeString("]}")
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: output))
    }

    private func command(for action: BatchAction, at index: Int, user: User) throws -> ActionCommand {
        func field(_ value: String?, _ name: String) throws -> String {
            guard let value, !value.isEmpty else {
                throw APIError.invalidRequest("missing field actions[\(index)].\(name)")
            }
            return value
        }
        switch action.op {
        case "send_message":
            guard let body = action.body else { throw APIError.invalidRequest("missing field actions[\(index)].body") }
            return try sendMessageCommand(
                user: user, peer: UserID(try field(action.peer, "peer")), id: action.id, body: body)
        case "accept_offer":
            return answerCommand(user: user, offer: OfferID(try field(action.offer, "offer")), accept: true)
        case "decline_offer":
            return answerCommand(user: user, offer: OfferID(try field(action.offer, "offer")), accept: false)
        case "stop_session": return stopCommand(user: user, session: SessionID(try field(action.session, "session")))
        case "mark_read":
            return try markReadCommand(
                user: user, peer: UserID(try field(action.peer, "peer")), messageID: try field(action.id, "id"))
        default:
            throw APIError.invalidRequest(
                "actions[\(index)].op must be send_message, accept_offer, decline_offer, stop_session or mark_read")
        }
    }
}
