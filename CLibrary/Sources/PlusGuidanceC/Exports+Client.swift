import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import Synchronization

/// Opens the profile in `options` (JSON): `{"server": URL, "profile": DIR}` and optionally
/// `"keyFile"`, `"requestTimeoutSeconds"`, `"waitSeconds"` (see plusguidance.h).
@c public func pg_client_open(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ options: CString?) -> Int32 {
    entry {
        guard let out else { throw MisuseError.invalid("out is NULL") }
        out.pointee = nil
        let arguments = try JSONArguments(options, "options").allowing([
            "server", "profile", "keyFile", "requestTimeoutSeconds", "waitSeconds",
        ])
        // Every value read and checked before anything touches the file system.
        let (server, profile, keyFile) = (
            try arguments.string("server"), try arguments.string("profile"), try arguments.string("keyFile")
        )
        let (timeout, wait) = (try arguments.number("requestTimeoutSeconds"), try arguments.number("waitSeconds") ?? 10)
        guard let server else { throw MisuseError.invalid("options.server is missing") }
        guard let url = URL(string: server), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw MisuseError.invalid("options.server must be an http(s) URL")
        }
        guard let profile, !profile.isEmpty else { throw MisuseError.invalid("options.profile is missing") }
        if let timeout, !(0.1...3_600).contains(timeout) {
            throw MisuseError.invalid("options.requestTimeoutSeconds must be 0.1...3600")
        }
        guard (0...3_600).contains(wait) else { throw MisuseError.invalid("options.waitSeconds must be 0...3600") }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: profile, isDirectory: &isFolder), !isFolder.boolValue {
            throw MisuseError.invalid("options.profile is a file, not a folder")
        }
        var configuration = ClientConfiguration(serverURL: url, profile: profile)
        let keys = KeySource.provider(keyFile: keyFile, keyFileOrigin: "options.keyFile")
        configuration.keys = keys
        if let timeout { configuration.deadlines = RequestDeadlines(all: .milliseconds(Int64(timeout * 1_000))) }
        let events = try EventQueue()
        let opening = configuration
        let client = try blocking { try await PlusGuidanceClient.open(opening) }
        out.pointee = ClientHandle(
            client: client, keys: keys, profile: profile, wait: .milliseconds(Int64(wait * 1_000)), events: events
        ).handOut()
    }
}

/// Closes the client: cancels its pending `_async` calls (they complete no more), lets go of
/// the profile and frees the handle. NULL is 0; a closed handle is PG_ECLOSED.
@c public func pg_client_close(_ client: OpaquePointer?) -> Int32 {
    guard client != nil else { return Status.ok }
    return entry {
        let handle = try ClientHandle.takeBack(client)
        try blocking { await handle.close() }
    }
}

/// Signs in; `out` gets the account `{id, email, role}`.
@c public func pg_client_sign_in(
    _ out: OutString?, _ client: OpaquePointer?, _ email: CString?, _ password: CString?
) -> Int32 {
    entry {
        let (handle, email, password, out) = (
            try ClientHandle.from(client), try text(email, "email"), try text(password, "password"), try prepare(out)
        )
        try give(try blocking { try await Calls.signIn(handle, email, password) }, to: out)
    }
}

@c public func pg_client_sign_in_async(
    _ request: UnsafeMutablePointer<UInt64>?, _ client: OpaquePointer?, _ email: CString?, _ password: CString?
) -> Int32 {
    entry {
        let (handle, email, password) = (
            try ClientHandle.from(client), try text(email, "email"), try text(password, "password")
        )
        try started(handle.start { try await Calls.signIn(handle, email, password) }, request)
    }
}

/// Signs out: the profile's keys are destroyed first, then the cache and outbox.
@c public func pg_client_sign_out(_ client: OpaquePointer?) -> Int32 {
    entry {
        let handle = try ClientHandle.from(client)
        handle.peers.withLock { $0 = [:] }
        try blocking { try await handle.client.signOut() }
    }
}

/// The signed-in account, `{id, email, role}`; PG_EUNAUTHORIZED when nobody is.
@c public func pg_client_whoami(_ out: OutString?, _ client: OpaquePointer?) -> Int32 {
    entry {
        let (handle, out) = (try ClientHandle.from(client), try prepare(out))
        try give(try blocking { try await Calls.whoami(handle) }, to: out)
    }
}

/// The calls' bodies, shared by the blocking and `_async` forms; each returns its JSON value.
enum Calls {
    /// Signs in, then syncs once as `pg login` does, so the next read has the account's data; a
    /// failed first sync leaves the account signed in (reads then say `not_synced`, `status`
    /// has no `lastSyncAt`) and the next sync or live connection catches up.
    static func signIn(_ handle: ClientHandle, _ email: String, _ password: String) async throws -> Any {
        handle.peers.withLock { $0 = [:] }  // another account's contacts are not this one's
        let user = try await handle.client.signIn(email: email, password: password)
        try? await handle.client.syncNow()
        return ContractJSON.user(user)
    }

    static func whoami(_ handle: ClientHandle) async throws -> Any {
        guard let user = await handle.client.currentUser else {
            throw PlusGuidanceClientError(.notSignedIn)
        }
        return ContractJSON.user(user)
    }

    /// The id of the contact named by `peer`, resolved once per client.
    static func peerID(_ peer: String, in handle: ClientHandle) async throws -> UserID {
        let key = peer.lowercased()
        if let known = handle.peers.withLock({ $0[key] }) { return known }
        let found = try await handle.client.contact(named: peer)
        handle.peers.withLock {
            $0[key] = found.id
            $0[found.id.rawValue.lowercased()] = found.id
        }
        return found.id
    }

}

/// Hands the request id of a started `_async` call to the caller.
func started(_ id: UInt64, _ request: UnsafeMutablePointer<UInt64>?) throws {
    request?.pointee = id
}
