import CBootClock
import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// This machine's `ElapsedClock`: Linux `CLOCK_BOOTTIME`, read by system call, and the boot
/// it counts from (`/proc/sys/kernel/random/boot_id`, new at every boot).
///
/// Where the kernel has no boot clock (or no boot id), the monotonic clock of the process and an
/// id of the process's own stand in: an estimate then holds within the process only, as it did
/// before estimates were shared.
public struct SystemElapsedClock: ElapsedClock {
    public init() {}

    public func elapsed() -> TimeInterval {
        let seconds = cbootclock_seconds()
        guard seconds >= 0 else { return ProcessInfo.processInfo.systemUptime }
        return seconds
    }

    public var bootID: String { Self.currentBoot }

    private static let currentBoot: String = {
        let path = "/proc/sys/kernel/random/boot_id"
        if cbootclock_seconds() >= 0, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        return "process-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)"
    }()
}
