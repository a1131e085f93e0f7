// swift-tools-version: 6.2
import PackageDescription

// The SDK libraries (Domain, Persistence, Networking, Sync) must never pull in the reference
// server's dependencies: an app that links PlusGuidanceSync gets GRDB and libcurl, nothing more.

let package = Package(
    name: "PlusGuidanceKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PlusGuidanceDomain", targets: ["PlusGuidanceDomain"]),
        .library(name: "PlusGuidancePersistence", targets: ["PlusGuidancePersistence"]),
        .library(name: "PlusGuidanceNetworking", targets: ["PlusGuidanceNetworking"]),
        .library(name: "PlusGuidanceSync", targets: ["PlusGuidanceSync"]),
        .library(name: "PlusGuidanceTesting", targets: ["PlusGuidanceTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        .target(name: "PlusGuidanceDomain"),
        .target(
            name: "PlusGuidancePersistence",
            dependencies: ["PlusGuidanceDomain", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(name: "PlusGuidanceNetworking", dependencies: ["PlusGuidanceDomain"]),
        .target(
            name: "PlusGuidanceSync",
            dependencies: ["PlusGuidanceDomain", "PlusGuidancePersistence", "PlusGuidanceNetworking"]
        ),
        .target(name: "PlusGuidanceTesting", dependencies: ["PlusGuidanceDomain"]),

        .executableTarget(
            name: "persistence-benchmark",
            dependencies: ["PlusGuidancePersistence", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Benchmarks/PersistenceBenchmark"
        ),

        .testTarget(
            name: "PlusGuidanceDomainTests",
            dependencies: [
                "PlusGuidanceDomain",
                "PlusGuidanceTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "PlusGuidancePersistenceTests",
            dependencies: [
                "PlusGuidancePersistence", "PlusGuidanceTesting", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "PlusGuidanceNetworkingTests", dependencies: ["PlusGuidanceNetworking"]),
        .testTarget(name: "PlusGuidanceSyncTests", dependencies: ["PlusGuidanceSync"]),
    ],
    swiftLanguageModes: [.v6]
)

// Strict settings for every target, in one place (as swift-log does).
for target in package.targets {
    var settings = target.swiftSettings ?? []
    settings.append(contentsOf: [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .treatAllWarnings(as: .error),
    ])
    target.swiftSettings = settings
}
