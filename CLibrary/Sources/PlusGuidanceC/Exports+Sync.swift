import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

/// Delivers the outbox and pulls what changed; `out` gets the status afterwards.
@c public func pg_client_sync(_ out: OutString?, _ client: OpaquePointer?) -> Int32 {
    call(client, out) { handle in { try await Calls.sync(handle) } }
}

@c public func pg_client_sync_async(_ request: UnsafeMutablePointer<UInt64>?, _ client: OpaquePointer?) -> Int32 {
    callAsync(client, request) { handle in { try await Calls.sync(handle) } }
}

/// Keeps the account live (a server-sent event stream, which also keeps a client online):
/// changes reach the cache, and the event descriptor, as they happen. Beside `pg-syncd` on the
/// same profile it follows the daemon's cache. Returns once started.
@c public func pg_client_start_live(_ client: OpaquePointer?) -> Int32 {
    entry {
        let handle = try ClientHandle.from(client)
        try blocking { try await handle.client.startLive() }
    }
}

/// Stops the live connection (the cache stays; reads still work).
@c public func pg_client_stop_live(_ client: OpaquePointer?) -> Int32 {
    entry {
        let handle = try ClientHandle.from(client)
        try blocking { await handle.client.stopLive() }
    }
}

/// Re-wraps the profile's data keys under a new key; no data is rewritten. `new_key_file`
/// NULL replaces the key file in place with a new random key; else the keys are wrapped under
/// the key in that file (created 0600 when missing), to open the profile with from then on.
/// `out` gets `{rewrapped, key}`.
@c public func pg_client_key_rotate(_ out: OutString?, _ client: OpaquePointer?, _ newKeyFile: CString?) -> Int32 {
    entry {
        let (handle, newKeyFile, out) = (
            try ClientHandle.from(client), try optionalText(newKeyFile, "new_key_file"), try prepare(out)
        )
        try give(try ProfileKey.rotate(profile: handle.profile, from: handle.keys, to: newKeyFile), to: out)
    }
}

extension Calls {
    static func sync(_ handle: ClientHandle) async throws -> Any {
        try await handle.client.syncNow()
        return ContractJSON.status(try await handle.client.status())
    }
}
