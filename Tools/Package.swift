// swift-tools-version: 6.2
import Foundation
import PackageDescription

// What is built on the SDK in this repository: the commands `pg` and `pg-syncd`, the reference
// server `pg-server`, the benchmarks, the tests' preload shims and the tests that drive them
// as processes. A package of its own, depending on the SDK (the repository's root) by path, so
// that an app on the SDK never resolves what these need (Hummingbird, NIO, ArgumentParser,
// swift-service-lifecycle, swift-metrics, async-http-client).
//
//     swift build --package-path Tools          # or scripts/build
//     swift run --package-path Tools pg demo

// The commands link the Swift runtime and Foundation as shared libraries, which an installation
// ships once, beside the C library (scripts/install, scripts/package; Documentation/Packaging.md).
// PG_STATIC_RUNTIME=1 links them into each command instead (`-static-stdlib` plus the archives
// Foundation needs, which SwiftPM's --static-swift-stdlib would apply to every product, tests
// too): a self-contained binary that starts about 3 ms sooner and weighs some 70 MB more
// (Tools/Benchmarks/cli/runtime-startup.sh compares the two).
let staticSwiftRuntime: [LinkerSetting] =
    ProcessInfo.processInfo.environment["PG_STATIC_RUNTIME"] == "1"
    ? [
        .unsafeFlags([
            "-static-stdlib", "-Xlinker", "--start-group", "-lFoundation", "-lCoreFoundation", "-l_FoundationICU",
            "-lFoundationEssentials", "-lFoundationInternationalization", "-l_FoundationCShims",
            "-l_FoundationCollections", "-lswiftSynchronization", "-Xlinker", "--end-group",
        ])
    ]
    : []

let package = Package(
    name: "PlusGuidanceTools",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PlusGuidanceServer", targets: ["PlusGuidanceServer"]),
        .executable(name: "pg-server", targets: ["pg-server"]),
        .executable(name: "pg", targets: ["pg"]),
        .executable(name: "pg-syncd", targets: ["pg-syncd"]),
        // The I/O fault shim of the tests' fault sweeps (LD_PRELOAD); not for apps.
        .library(name: "PGFaultShim", type: .dynamic, targets: ["CFaultShim"]),
        // The calendar-clock shim of the tests' clock steps (LD_PRELOAD); not for apps.
        .library(name: "PGClockShim", type: .dynamic, targets: ["CClockShim"]),
    ],
    dependencies: [
        .package(name: "PlusGuidanceKit", path: ".."),
        // The C library: built here (`--product plusguidance`) with the SDK objects Tools/ has.
        .package(name: "PlusGuidanceCLibrary", path: "../CLibrary"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        .target(name: "CFaultShim", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CClockShim"),
        .target(
            name: "PlusGuidanceServer",
            dependencies: [
                "PlusGuidanceDomain", "PlusGuidanceWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "pg-server",
            dependencies: [
                "PlusGuidanceServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Examples/pg-server"
        ),

        .executableTarget(
            name: "pg",
            dependencies: [
                // PlusGuidanceTesting for `pg demo`, which runs the built pg-server as a child
                // process: pg links neither the reference server nor Hummingbird.
                "PlusGuidanceSync", "PlusGuidancePersistence", "PlusGuidanceTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/pg",
            linkerSettings: staticSwiftRuntime
        ),
        .executableTarget(
            name: "pg-syncd",
            dependencies: [
                "PlusGuidanceSync", "PlusGuidancePersistence", "PlusGuidanceNetworking", "PlusGuidanceDomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Examples/pg-syncd",
            exclude: ["pg-syncd.service"],
            linkerSettings: staticSwiftRuntime
        ),
        .executableTarget(
            name: "persistence-benchmark",
            dependencies: [
                "PlusGuidancePersistence", "PlusGuidanceTesting", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            path: "Benchmarks/PersistenceBenchmark"
        ),

        .executableTarget(
            name: "search-benchmark",
            dependencies: [
                "PlusGuidancePersistence", "PlusGuidanceTesting", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/SearchBenchmark"
        ),
        .executableTarget(
            name: "encryption-benchmark",
            dependencies: ["PlusGuidancePersistence", "PlusGuidanceTesting"],
            path: "Benchmarks/EncryptionBenchmark"
        ),
        .executableTarget(
            name: "handoff-benchmark",
            dependencies: [
                "PlusGuidancePersistence", "PlusGuidanceSync", "PlusGuidanceTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                // To check the sealed format against swift-crypto's AES.GCM.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Benchmarks/HandoffBenchmark"
        ),

        .executableTarget(
            name: "networking-benchmark",
            dependencies: ["PlusGuidanceNetworking"],
            path: "Benchmarks/NetworkingBenchmark"
        ),

        .executableTarget(
            name: "fleet-benchmark",
            dependencies: ["PlusGuidanceSync", "PlusGuidanceTesting", "PlusGuidanceNetworking"],
            path: "Benchmarks/FleetBenchmark"
        ),

        // The Swift side of Benchmarks/abi-benchmark.sh (the C library against the Swift API).
        .executableTarget(
            name: "abi-benchmark",
            dependencies: ["PlusGuidanceSync"],
            path: "Benchmarks/ABIBenchmark"
        ),

        .executableTarget(
            name: "sync-benchmark",
            dependencies: [
                "PlusGuidanceSync", "PlusGuidanceTesting", "PlusGuidanceNetworking", "PlusGuidanceWire",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/SyncBenchmark"
        ),

        .testTarget(
            name: "PlusGuidanceServerTests",
            dependencies: [
                "PlusGuidanceServer",
                "PlusGuidanceTesting",
                "PlusGuidanceWire",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PGTests",
            dependencies: ["PlusGuidanceTesting", "PlusGuidanceNetworking", "PlusGuidanceDomain", "PlusGuidanceSync"],
            // Fixtures read from the source tree (#filePath): a profile of an earlier release.
            exclude: ["Resources"]),
    ],
    swiftLanguageModes: [.v6]
)

// The SDK's products, named by their package.
for target in package.targets {
    target.dependencies = target.dependencies.map { dependency in
        if case .byNameItem(let name, let condition) = dependency, name.hasPrefix("PlusGuidance"),
            name != "PlusGuidanceServer"
        {
            return .product(name: name, package: "PlusGuidanceKit", condition: condition)
        }
        return dependency
    }
}

// Strict settings for every target, in one place (as swift-log does).
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(contentsOf: [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .treatAllWarnings(as: .error),
    ])
    target.swiftSettings = settings
}
