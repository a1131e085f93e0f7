// libFuzzer harness: every answer shape of the API, decoded and mapped as the SDK does
// (PlusGuidanceAPI.decode: JSONDecoder, then `domain()` against the contract's ranges).
//
// Oracles: FeedPageReader, the feed's fast path, reads nothing JSONDecoder would refuse or read
// otherwise; no input traps (a failure is a thrown error, nothing else); what maps, once written
// back by the server's encoders, maps again to the same Domain values; and no computation the
// SDK runs on a cached value (a session's end and countdown, an offer's expiry check) traps,
// whatever the clock says. Built and run by scripts/fuzz.
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

private let decoder = JSONDecoder()
private let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]  // member order is otherwise not stable
    return encoder
}()
private let clocks: [Date] = [
    .distantPast, .distantFuture, Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_800_000_000),
    Date(timeIntervalSinceReferenceDate: -1e15), Date(timeIntervalSinceReferenceDate: 1e15),
]

private func decoded<Wire: Decodable>(_ type: Wire.Type, _ data: Data) -> Wire? {
    try? decoder.decode(Wire.self, from: data)
}

/// Runs what reads of cached values compute, at every clock.
private func exercise(_ session: Session) {
    for now in clocks {
        _ = session.countdown(at: now)
        _ = session.scheduledEnd
        _ = SessionWire(session, at: now)
    }
}

private func exercise(_ offer: SessionOffer) {
    for now in clocks {
        _ = offer.isOverdue(at: now)
        var accepted = offer
        _ = try? accepted.accept(by: offer.clientID, at: now)
        var expired = offer
        _ = expired.expireIfDue(at: now)
    }
    _ = OfferWire(offer)
}

private func exercise(_ change: Change) {
    switch change {
    case .session(let session): exercise(session)
    case .offer(let offer): exercise(offer)
    case .message(let message): _ = MessageWire(message)
    case .user(let user): _ = UserWire(user)
    case .read(let position): _ = ReadPositionWire(position)
    case .deleted: break
    }
}

private func roundTrip(_ page: ChangePage, at now: Date) {
    let wire = FeedPageWire(
        changes: page.changes.map { ChangeWire($0, at: now) }, cursor: page.cursor.rawValue, hasMore: page.hasMore,
        remaining: page.remaining)
    guard let data = try? encoder.encode(wire) else { fatalError("a mapped page does not encode") }
    guard let again = try? decoder.decode(FeedPageWire.self, from: data).domain() else {
        fatalError("a page the SDK accepted does not map again once the server writes it")
    }
    // Times travel in milliseconds: compare what the wire carries.
    let first = try? encoder.encode(wire.changes)
    let second = try? encoder.encode(again.changes.map { ChangeWire($0, at: now) })
    guard first == second else {
        fatalError(
            "a page changed crossing the wire twice: \(first.map { String(decoding: $0, as: UTF8.self) } ?? "-") "
                + "became \(second.map { String(decoding: $0, as: UTF8.self) } ?? "-")")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    // The feed's fast reader decides only what JSONDecoder decides the same way.
    if let read = FeedPageReader.read(data) {
        guard let reference = decoded(FeedPageWire.self, data) else {
            fatalError("FeedPageReader read a page that JSONDecoder refuses")
        }
        guard read == reference else { fatalError("FeedPageReader and JSONDecoder read a page differently") }
    }
    if let page = decoded(FeedPageWire.self, data), let mapped = try? page.domain() {
        mapped.changes.forEach(exercise)
        roundTrip(mapped, at: clocks[3])
    }
    if let change = decoded(ChangeWire.self, data), let mapped = try? change.domain() { exercise(mapped) }
    if let wire = decoded(SessionsWire.self, data) {
        for session in wire.sessions { if let mapped = try? session.domain() { exercise(mapped) } }
    }
    if let wire = decoded(OffersWire.self, data) {
        for offer in wire.offers { if let mapped = try? offer.domain() { exercise(mapped) } }
    }
    if let wire = decoded(AnswerWire.self, data), let (offer, session) = try? wire.domain() {
        exercise(offer)
        session.map(exercise)
    }
    if let wire = decoded(MessagesPageWire.self, data) { for message in wire.messages { _ = try? message.domain() } }
    if let wire = decoded(ContactsWire.self, data) { for contact in wire.contacts { _ = try? contact.domain() } }
    if let wire = decoded(TokensWire.self, data) { _ = try? wire.domain() }
    if let wire = decoded(PresenceWire.self, data) { _ = try? wire.domain() }
    if let wire = decoded(ReadPositionWire.self, data) { _ = try? wire.domain() }
    if let wire = decoded(BatchAnswerWire.self, data) {
        for result in wire.results {
            switch result.body {
            case .message(let message): _ = try? message.domain()
            case .answer(let answer): _ = try? answer.domain()
            case .session(let session): if let mapped = try? session.domain() { exercise(mapped) }
            case .read(let position): _ = try? position.domain()
            case .problem, nil: break
            }
        }
    }
    return 0
}
