import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Gives back the code pages that only start-up used.
///
/// `pg-syncd` is one static binary with about 27 MB of machine code, and it maps libcurl with
/// the thirty libraries libcurl needs. Start-up (relocation, the Swift runtime's first
/// conformance scans, argument parsing, opening the profile, the first sync, TLS and curl
/// initialisation) runs code all over them, and the kernel maps up to 64 KiB around every page it
/// faults in (fault-around): once live, about 24 MiB of the binary's code alone are resident,
/// where an idle live daemon runs a few MiB of it. So the daemon drops its mappings of those
/// pages (`MADV_DONTNEED`) once live and once more after its first half-minute: the page cache
/// keeps them, what the daemon runs again is mapped back at the cost of a minor fault, and its
/// resident set becomes the code it actually runs.
///
/// Only private, read-only, executable mappings of files are dropped, and only those none of
/// whose pages were ever copied on write (`Anonymous: 0 kB` in `/proc/self/smaps`: no text
/// relocation, no debugger breakpoint): every page then comes back exactly as the file has it.
/// Writable and read-only data mappings (relocated data, RELRO, the heap) are never touched.
@_spi(PlusGuidanceTools) public enum StartupPages {
    /// Drops the resident pages of those mappings; returns how many bytes were advised (0 where
    /// `/proc/self/smaps` cannot be read).
    @discardableResult
    @_spi(PlusGuidanceTools) public static func release() -> Int {
        guard let smaps = procFile("/proc/self/smaps") else { return 0 }
        var advised = 0
        var candidate: (start: UInt, end: UInt)?
        for line in smaps.split(separator: "\n") {
            if let range = mapping(line) {
                candidate = range
            } else if line.hasPrefix("Anonymous:"), let range = candidate {
                candidate = nil
                let copied = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
                guard copied == "0", let address = UnsafeMutableRawPointer(bitPattern: range.start) else { continue }
                if madvise(address, Int(range.end - range.start), MADV_DONTNEED) == 0 {
                    advised += Int(range.end - range.start)
                }
            }
        }
        return advised
    }

    /// The whole of a `/proc` file (their size is 0 to `stat`, so they are read until the end).
    private static func procFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bounds of a mapping header line that is a private read-only executable mapping of a
    /// file (`start-end r-xp offset dev inode /path`); `nil` for any other line.
    private static func mapping(_ line: Substring) -> (start: UInt, end: UInt)? {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count == 6, fields[1] == "r-xp", fields[5].drop(while: { $0 == " " }).hasPrefix("/") else {
            return nil
        }
        let bounds = fields[0].split(separator: "-")
        guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
            end > start
        else { return nil }
        return (start, end)
    }
}
