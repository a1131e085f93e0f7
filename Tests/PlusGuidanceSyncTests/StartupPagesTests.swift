import Foundation
import Testing

@_spi(PlusGuidanceTools) @testable import PlusGuidanceSync

#if canImport(Glibc)
    import Glibc
#endif

/// `pg-syncd` gives back the code pages only its start-up used (``StartupPages``). What makes
/// that safe is tested here on mappings this test makes: a clean read-only executable mapping of
/// a file loses its resident pages and still reads exactly as the file; one with a page copied
/// on write (as a text relocation or a debugger breakpoint makes) is left alone, its copy intact.
@Suite struct StartupPagesTests {
    /// Maps `bytes` from a new file read-only and executable, private; every page touched.
    func mapFile(_ bytes: [UInt8], named name: String) throws -> UnsafeMutableRawPointer {
        let path = FileManager.default.temporaryDirectory.path + "/pg-startup-pages-\(getpid())-\(name)"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let address = mmap(nil, bytes.count, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0)
        try #require(address != MAP_FAILED && address != nil, "mmap failed: errno \(errno)")
        let mapped = address!
        var sum = 0
        for offset in stride(from: 0, to: bytes.count, by: 4_096) {
            sum &+= Int(mapped.load(fromByteOffset: offset, as: UInt8.self))
        }
        #expect(sum >= 0)
        return mapped
    }

    /// The `Rss` and `Anonymous` (kB) of the mapping that starts at `address`.
    func residency(of address: UnsafeMutableRawPointer) throws -> (rss: Int, anonymous: Int) {
        // Read to the end: /proc files have no size, and a one-shot read can stop short.
        let data = try #require(try FileHandle(forReadingAtPath: "/proc/self/smaps")?.readToEnd())
        let smaps = String(decoding: data, as: UTF8.self)
        let start = String(UInt(bitPattern: address), radix: 16)
        var inMapping = false
        var rss: Int?
        for line in smaps.split(separator: "\n") {
            if line.first?.isHexDigit == true, line.contains("-"), line.split(separator: " ").count >= 5 {
                inMapping = line.hasPrefix(start + "-")
            } else if inMapping, line.hasPrefix("Rss:") {
                rss = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
            } else if inMapping, line.hasPrefix("Anonymous:"), let rss {
                return (rss, Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1)
            }
        }
        Issue.record("no mapping at \(start) in /proc/self/smaps")
        return (-1, -1)
    }

    @Test func cleanCodeMappingsAreDroppedAndReadBackAsTheFileCopiedOnesAreKept() throws {
        let size = 16 * 4_096
        let content = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let clean = try mapFile(content, named: "clean")
        defer { munmap(clean, size) }
        let patched = try mapFile(content, named: "patched")
        defer { munmap(patched, size) }
        // A page of `patched` is written through a writable window, then made executable again.
        #expect(mprotect(patched, size, PROT_READ | PROT_WRITE) == 0)
        patched.storeBytes(of: 0xCC, toByteOffset: 100, as: UInt8.self)
        #expect(mprotect(patched, size, PROT_READ | PROT_EXEC) == 0)

        #expect(try residency(of: clean).rss == size / 1_024)
        #expect(try residency(of: patched).anonymous > 0)
        #expect(StartupPages.release() >= size)

        #expect(try residency(of: clean).rss == 0, "the clean mapping's pages are still resident")
        #expect(try residency(of: patched).anonymous > 0, "the copied page of the patched mapping was dropped")
        // Both read as before: the clean one from the file again, the patched one with its copy.
        #expect(Array(UnsafeRawBufferPointer(start: clean, count: size)) == content)
        #expect(patched.load(fromByteOffset: 100, as: UInt8.self) == 0xCC)
        #expect(patched.load(fromByteOffset: 101, as: UInt8.self) == content[101])
    }
}
