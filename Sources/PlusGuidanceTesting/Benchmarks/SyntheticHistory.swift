import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The history the persistence benchmarks ingest: one therapist and `conversations` clients,
/// messages a quarter of a second apart, round-robin over the conversations, two in three from
/// the client, with bodies of 140 to 159 bytes (with ids, kind, state and time a row is about
/// 250 bytes).
public struct SyntheticHistory: Sendable {
    public let therapist = UserID("usr_therapist_000001")
    public let relations: [CareRelation]
    public let epoch = Date(timeIntervalSince1970: 1_800_000_000)
    /// A typical body.
    public var body: String { bodies[0] }
    private let bodies = (0..<64).map { i in
        String(repeating: "Thank you for today, I will try the breathing exercise again. ", count: 3)
            .prefix(140 + i % 20).description
    }

    public init(conversations: Int) {
        let therapist = therapist
        relations = (0..<conversations).map {
            CareRelation(therapistID: therapist, clientID: UserID(String(format: "usr_client_%06d", $0)))
        }
    }

    /// The `i`th message.
    public func message(_ i: Int) -> Message {
        let relation = relations[i % relations.count]
        let fromClient = i % 3 != 0
        return Message(
            id: MessageID(String(format: "msg_%010d", i)), conversationID: relation.conversationID,
            senderID: fromClient ? relation.clientID : therapist,
            recipientID: fromClient ? therapist : relation.clientID,
            kind: .text, body: bodies[i % bodies.count], createdAt: epoch + Double(i) * 0.25)
    }
}
