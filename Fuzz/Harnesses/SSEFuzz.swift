// libFuzzer harness: the event-stream parser. A stream may be cut anywhere by the network, so
// the oracle is split invariance: the bytes fed whole and fed in the pieces the input's first
// byte chooses give the same events, or both overflow. No input traps. Built by scripts/fuzz.
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking

private func parse(_ chunks: [Data]) -> [ServerSentEventItem]? {
    var parser = ServerSentEventParser(lastEventID: "resume")
    // Small bounds, so that inputs of a few KiB reach the overflow path too.
    parser.maximumLineBytes = 512
    parser.maximumEventBytes = 1 << 20
    var items: [ServerSentEventItem] = []
    do {
        for chunk in chunks { items += try parser.feed(chunk) }
    } catch {
        return nil
    }
    parser.finish()
    return items
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let step = Int(bytes[0] % 7) + 1
    let data = Data(bytes: bytes + 1, count: count - 1)
    var pieces: [Data] = []
    var start = 0
    while start < data.count {
        let end = min(start + step, data.count)
        pieces.append(data.subdata(in: start..<end))
        start = end
    }
    let whole = parse([data])
    let split = parse(pieces)
    if whole != split { fatalError("split at every \(step) bytes parses differently") }
    return 0
}
