import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Creates folders and files only their owner can read: 0700 folders, 0600 files, whatever the
/// process umask. Health data must never be readable by other users of the machine.
enum SecureFiles {
    static let folderMode: mode_t = 0o700
    static let fileMode: mode_t = 0o600

    /// Creates `path` and any missing parents with mode 0700, and takes every permission of
    /// group and others from `path` itself when it already existed.
    /// - Parameter narrowingExisting: `false` for a folder the SDK does not own (the one a key
    ///   file is put in, such as `/tmp` or a home folder): it is created 0700 when missing, and
    ///   left as it is otherwise.
    static func makeFolder(_ path: String, narrowingExisting: Bool = true) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        var created = false
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, folderMode) == 0 {
                created = true
            } else if errno != EEXIST {
                let code = errno
                throw PersistenceError.fileAccess(
                    path: prefix, errno: code, otherwise: .cannotCreateFolder(path: prefix, errno: code))
            }
        }
        guard narrowingExisting || created else { return }
        // Only ever narrowed: a folder that others cannot reach is left as it is, so that a
        // profile its owner made read-only stays so (the first write then says what is wrong),
        // and an already private folder on a read-only file system is not an error.
        guard let current = mode(of: path), current & 0o077 != 0 else { return }
        guard chmod(path, current & folderMode) == 0 else {
            throw PersistenceError.fileAccess(path: path, errno: errno)
        }
    }

    /// Creates `path` as an empty 0600 file if it does not exist, and forces 0600 if it does.
    ///
    /// SQLite creates a database's `-wal` and `-shm` files with the permissions of the database
    /// file itself (sqlite.org, "unix VFS", `findCreateFileMode`), so a database file made here
    /// before SQLite opens it keeps its companions private too.
    static func makeFile(_ path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, fileMode)
        guard fd >= 0 else { throw PersistenceError.fileAccess(path: path, errno: errno) }
        defer { close(fd) }
        guard fchmod(fd, fileMode) == 0 else { throw PersistenceError.fileAccess(path: path, errno: errno) }
    }

    /// Writes `data` to a 0600 temporary file beside `path`, syncs it, and renames it over
    /// `path` (rename(2) is atomic), then syncs the folder so the rename itself is durable.
    /// Without `durably`, nothing is synced: readers still see the old content or the new one,
    /// never a mix, but a crash may leave the old one (for state that a crash makes stale
    /// anyway).
    static func writeAtomically(_ data: Data, to path: String, durably: Bool = true) throws {
        // Unique per call: two threads of one process may write the same file.
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, fileMode)
        guard fd >= 0 else { throw PersistenceError.fileAccess(path: temporary, errno: errno) }
        var written = 0
        let ok = data.withUnsafeBytes { bytes -> Bool in
            while written < bytes.count {
                let result = write(fd, bytes.baseAddress! + written, bytes.count - written)
                if result < 0 { return false }
                written += result
            }
            return fchmod(fd, fileMode) == 0 && (!durably || fsync(fd) == 0)
        }
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw PersistenceError.fileAccess(path: path, errno: code)
        }
        if durably { syncFolder(of: path) }
    }

    /// Syncs a file's content to disk.
    static func sync(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// Syncs the folder holding `path`, so a rename or link into it is durable.
    static func syncFolder(of path: String) {
        let folder = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    /// Overwrites a file with zeros, syncs it and removes it; nothing happens when it is missing.
    ///
    /// For the files whose content must not outlive them (a data key, a plaintext file being
    /// replaced by its encrypted copy). On a filesystem that writes in place the old bytes are
    /// gone; an SSD's flash translation layer or a copy-on-write filesystem may keep the old
    /// blocks, which is why what matters is shredding the small data-key files: everything else
    /// is ciphertext under them.
    static func shred(_ path: String) {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd >= 0 {
            var info = stat()
            if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
                let zeros = [UInt8](repeating: 0, count: 64 * 1_024)
                var remaining = Int(info.st_size)
                while remaining > 0 {
                    let written = zeros.withUnsafeBytes { write(fd, $0.baseAddress!, min(remaining, zeros.count)) }
                    if written <= 0 { break }
                    remaining -= written
                }
                fsync(fd)
            }
            close(fd)
        }
        unlink(path)
    }

    /// Takes every permission but the owner's read and write from each regular file directly
    /// inside `folder` (0600, or 0400 for a file its owner made read-only).
    static func restrictFiles(in folder: String) throws {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let path = folder + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if info.st_mode & 0o177 != 0, chmod(path, info.st_mode & fileMode) != 0 {
                throw PersistenceError.fileAccess(path: path, errno: errno)
            }
        }
    }

    /// The permission bits of `path`, or `nil` when it does not exist.
    static func mode(of path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : nil
    }
}
