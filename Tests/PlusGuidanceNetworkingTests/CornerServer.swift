import Foundation
import PlusGuidanceTesting

#if canImport(Glibc)
    import Glibc
#endif

/// The Python corner-case server (Resources/corner_server.py) on loopback, plain or TLS with a
/// self-signed certificate made for the run. One of each per test process, started on demand;
/// it exits when this process does (it reads stdin until EOF).
struct CornerServer: Sendable {
    let base: URL
    /// For TLS: the CA file to trust and the key's pin (`sha256//…`).
    let certificatePath: String?
    let pin: String?

    func url(_ path: String) -> URL { URL(string: base.absoluteString + path)! }

    static let plain = Task { try await launch(tls: false) }
    static let tls = Task { try await launch(tls: true) }

    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Resources/corner_server.py").path

    private static func launch(tls: Bool) async throws -> CornerServer {
        var arguments = ["python3", script]
        var certificate: String?
        var pin: String?
        if tls {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pg-tls-\(UUID().uuidString)")
                .path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let cert = folder + "/cert.pem"
            let key = folder + "/key.pem"
            try await shell(
                "openssl req -x509 -newkey rsa:2048 -nodes -keyout \(key) -out \(cert) -days 1 -subj /CN=localhost "
                    + "-addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>/dev/null")
            let digest = try await shell(
                "openssl x509 -in \(cert) -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl enc -base64"
            )
            certificate = cert
            pin = "sha256//" + digest.trimmingCharacters(in: .whitespacesAndNewlines)
            arguments += ["--tls", cert, key]
        }
        let process = try ChildProcess("/usr/bin/env", arguments, stdin: .pipe, stdout: .pipe, stderr: .inherit)
        // Keep its stdin's write end open for the life of this process (deliberately never
        // released): EOF on its stdin tells the server to exit.
        _ = Unmanaged.passRetained(process)
        let line = String(
            decoding: try await onDedicatedThread { process.standardOutput?.availableData ?? Data() }, as: UTF8.self)
        guard line.hasPrefix("port "), let port = Int(line.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            throw Failure("corner server did not start: \(line)")
        }
        let scheme = tls ? "https" : "http"
        return CornerServer(base: URL(string: "\(scheme)://127.0.0.1:\(port)")!, certificatePath: certificate, pin: pin)
    }

    /// Runs a shell command to completion (killed after five minutes) and returns its output.
    @discardableResult
    static func shell(_ command: String) async throws -> String {
        let outcome = try await runProcess("/bin/sh", ["-c", command])
        guard outcome.status == 0 else { throw Failure("\(command) failed") }
        return outcome.stdout
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A TCP socket on loopback that completes the handshake (the kernel does) but never reads or
/// answers: a server stuck mid-connection, for connect-phase timeouts and cancellation.
final class SilentListener: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws { (descriptor, port) = try boundLoopbackSocket(listening: true) }

    deinit { close(descriptor) }

    var url: URL { URL(string: "https://127.0.0.1:\(port)/")! }
}

/// A loopback port with nothing listening on it.
///
/// The port stays bound (without listening) while this object lives, so that a server another
/// test starts meanwhile cannot take it: a connection to it is refused at once. Keep it alive to
/// the end of the test (`withExtendedLifetime`).
final class ClosedPort: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws { (descriptor, port) = try boundLoopbackSocket(listening: false) }

    deinit { close(descriptor) }
}

/// A TCP socket bound to a free loopback port, listening or not, and its port.
func boundLoopbackSocket(listening: Bool) throws -> (descriptor: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0, !listening || listen(fd, 16) == 0 else {
        close(fd)
        throw Failure("cannot bind a loopback socket")
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
