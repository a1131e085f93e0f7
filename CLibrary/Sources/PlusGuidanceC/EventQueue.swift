import CPlusGuidanceSupport
import Glibc
import Synchronization

/// The events a client has for the app, in order, behind one descriptor that is readable
/// exactly while the queue holds one: level-triggered, like a socket with data waiting, so
/// `poll`, GLib, Qt and asyncio all see it the same way.
final class EventQueue: Sendable {
    let descriptor: Int32
    private let pending = Mutex<(events: [String], head: Int)>(([], 0))

    init() throws {
        descriptor = pgc_eventfd_open()
        guard descriptor >= 0 else {
            throw MisuseError(status: Status.error, code: "no_descriptor", line: "cannot create the event descriptor")
        }
    }

    deinit { close(descriptor) }

    func push(_ event: String) {
        pending.withLock { queue in
            queue.events.append(event)
            if queue.events.count - queue.head == 1 { pgc_eventfd_signal(descriptor) }
        }
    }

    /// The next event, or nil when none waits (the descriptor is unreadable then).
    func pop() -> String? {
        pending.withLock { queue in
            guard queue.head < queue.events.count else { return nil }
            let event = queue.events[queue.head]
            queue.head += 1
            if queue.head == queue.events.count {
                queue.events.removeAll(keepingCapacity: true)
                queue.head = 0
                pgc_eventfd_drain(descriptor)
            }
            return event
        }
    }
}
