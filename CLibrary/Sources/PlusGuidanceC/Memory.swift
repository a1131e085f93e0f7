import Foundation
import Synchronization

/// Every string this library handed out and the caller has not freed yet: `pg_free` frees only
/// these, so a double free or a foreign pointer is an error status, not heap corruption.
let outstanding = Mutex<Set<UInt>>([])

/// A malloc'd copy of `text` for the caller, recorded as outstanding.
func handOut(_ text: String) -> UnsafeMutablePointer<CChar> {
    let copy = text.withCString { strdup($0) }
    guard let copy else { fatalError("out of memory") }
    _ = outstanding.withLock { $0.insert(UInt(bitPattern: copy)) }
    return copy
}

/// A malloc'd, NUL-terminated copy of UTF-8 `bytes` (JSON the library wrote) for the caller.
func handOut(bytes: [UInt8]) -> UnsafeMutablePointer<CChar> {
    guard let copy = malloc(bytes.count + 1)?.assumingMemoryBound(to: CChar.self) else { fatalError("out of memory") }
    bytes.withUnsafeBytes { source in
        if let base = source.baseAddress {
            UnsafeMutableRawPointer(copy).copyMemory(from: base, byteCount: source.count)
        }
    }
    copy[bytes.count] = 0
    _ = outstanding.withLock { $0.insert(UInt(bitPattern: copy)) }
    return copy
}

/// Frees a string this library returned.
///
/// - Returns: 0, or PG_ECLOSED for a pointer it did not return or already freed (nothing is
///   freed then). NULL is 0.
@c public func pg_free(_ text: UnsafeMutablePointer<CChar>?) -> Int32 {
    guard let text else { return Status.ok }
    let known = outstanding.withLock { $0.remove(UInt(bitPattern: text)) != nil }
    guard known else {
        return fail(
            MisuseError(
                status: Status.closed, code: "unknown_pointer",
                line: "pg_free: not a string this library returned, or freed already"))
    }
    free(text)
    return Status.ok
}
