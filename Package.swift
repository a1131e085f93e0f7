// swift-tools-version: 6.2
import PackageDescription

// The SDK: what an app depends on. An app that names PlusGuidanceSync resolves GRDB and
// swift-log, and links the system's SQLite, libcrypto and (opened at the first request)
// libcurl; nothing more. The commands (`pg`, `pg-syncd`), the reference server, the benchmarks
// and their tests are the package in `Tools/`, which depends on this one by path, so an app
// never resolves Hummingbird, NIO or ArgumentParser (`Tools/Benchmarks/consumer/first-build.sh`
// lists what a consumer resolves; CI prints it).
let package = Package(
    name: "PlusGuidanceKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PlusGuidanceDomain", targets: ["PlusGuidanceDomain"]),
        .library(name: "PlusGuidancePersistence", targets: ["PlusGuidancePersistence"]),
        .library(name: "PlusGuidanceNetworking", targets: ["PlusGuidanceNetworking"]),
        .library(name: "PlusGuidanceSync", targets: ["PlusGuidanceSync"]),
        .library(name: "PlusGuidanceTesting", targets: ["PlusGuidanceTesting"]),
        // The API's JSON shapes, for the reference server and the tools in Tools/ through
        // `@_spi(PlusGuidanceTools) import`: not app API.
        .library(name: "PlusGuidanceWire", targets: ["PlusGuidanceWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The tests' own: a consumer resolves neither.
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .target(name: "PlusGuidanceDomain"),
        // The JSON shapes of openapi.yaml, written once for the SDK and the reference server.
        .target(name: "PlusGuidanceWire", dependencies: ["PlusGuidanceDomain"]),
        .target(
            name: "PlusGuidancePersistence",
            dependencies: [
                "PlusGuidanceDomain", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                // The system's libcrypto for everything at rest: the per-row AES-256-GCM seal (one
                // key schedule for every row), key wrapping, key ids, random keys.
                "CLibCrypto", "CSQLiteOptions",
            ]
        ),
        // SQLite options Swift cannot set itself (variadic sqlite3_db_config).
        .target(name: "CSQLiteOptions", linkerSettings: [.linkedLibrary("sqlite3")]),
        // libcurl's headers (no link: CCurlLoader opens the library when a request needs it,
        // which keeps its ~30 dependencies out of every command's start-up).
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CCurlLoader", dependencies: ["CCurl"], linkerSettings: [.linkedLibrary("dl")]),
        // CLOCK_BOOTTIME by system call, which the server-time estimate is kept against (R12).
        .target(name: "CBootClock"),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "PlusGuidanceNetworking",
            dependencies: [
                "PlusGuidanceDomain", "PlusGuidanceWire", "CCurl", "CCurlLoader", "CBootClock",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PlusGuidanceSync",
            dependencies: ["PlusGuidanceDomain", "PlusGuidancePersistence", "PlusGuidanceNetworking"]
        ),
        .target(
            name: "PlusGuidanceTesting",
            dependencies: ["PlusGuidanceDomain", "PlusGuidanceWire", "PlusGuidanceNetworking", "CSpawn"]),
        // Test helpers' process spawning (GNU extensions of glibc Swift does not import).
        .target(name: "CSpawn"),

        .testTarget(
            name: "PlusGuidanceDomainTests",
            dependencies: [
                "PlusGuidanceDomain",
                "PlusGuidanceTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "PlusGuidanceWireTests", dependencies: ["PlusGuidanceWire", "PlusGuidanceTesting"]),
        .testTarget(
            name: "PlusGuidancePersistenceTests",
            dependencies: [
                "PlusGuidancePersistence", "PlusGuidanceTesting", .product(name: "GRDB", package: "GRDB.swift"),
                // To check the sealed format against swift-crypto's AES.GCM.
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "PlusGuidanceNetworkingTests",
            dependencies: [
                "PlusGuidanceNetworking", "PlusGuidanceTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Resources"]
        ),
        .testTarget(
            name: "PlusGuidanceSyncTests",
            dependencies: [
                "PlusGuidanceSync", "PlusGuidancePersistence", "PlusGuidanceTesting", "PlusGuidanceNetworking",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

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

// The documentation site (scripts/docs) builds with swift-docc-plugin, which only that script
// resolves (PG_DOCS=1, in a scratch folder of its own): an app on the SDK never does.
if Context.environment["PG_DOCS"] == "1" {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"))
}
