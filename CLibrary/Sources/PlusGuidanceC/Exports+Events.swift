import Foundation

/// The descriptor that is readable while events wait; add it to the app's main loop (GLib
/// `g_unix_fd_add`, Qt `QSocketNotifier`, asyncio `add_reader`, `poll`). The first call starts
/// following the account (`pg watch --json`'s events and `status` changes); completions of
/// `_async` calls arrive on it from the start. The library owns it: do not read or close it.
@c public func pg_client_event_fd(_ out: UnsafeMutablePointer<Int32>?, _ client: OpaquePointer?) -> Int32 {
    entry {
        let handle = try ClientHandle.from(client)
        guard let out else { throw MisuseError.invalid("out is NULL") }
        handle.startPumping()
        out.pointee = handle.events.descriptor
    }
}

/// The next event as JSON, or `*out` NULL when none waits (then the descriptor is not
/// readable). Never blocks.
@c public func pg_client_next_event(_ out: OutString?, _ client: OpaquePointer?) -> Int32 {
    entry {
        let (handle, out) = (try ClientHandle.from(client), try prepare(out))
        if let event = handle.events.pop() { out.pointee = handOut(event) }
    }
}
