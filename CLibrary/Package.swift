// swift-tools-version: 6.2
import Foundation
import PackageDescription

// The C library `libplusguidance.so.0` over PlusGuidanceSync (BRIEF.md, "C library and Python
// package"); `include/plusguidance.h` is its header, `Documentation/C-API.md` its conventions.
// A package of its own, beside the SDK: its linker settings (a static Swift runtime, a soname,
// a version script) are unsafe flags, which SwiftPM refuses in a package an app depends on by
// URL. Tools/ depends on it by path, so `swift build --package-path Tools --product
// plusguidance` builds it with the SDK objects Tools/ already has; `scripts/install` does.
let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

// The library links the Swift runtime and Foundation as shared libraries, which an installation
// keeps in a folder of its own (lib/plusguidance/, the library's RUNPATH: scripts/install,
// Documentation/Packaging.md): a program linking it needs no Swift toolchain. PG_STATIC_RUNTIME=1
// puts them inside the library instead (Foundation's static archives need their companions named).
// `-z defs` fails the link on any symbol left undefined.
let runtime =
    ProcessInfo.processInfo.environment["PG_STATIC_RUNTIME"] == "1"
    ? [
        "-static-stdlib", "-Xlinker", "--start-group", "-lFoundation", "-lCoreFoundation", "-l_FoundationICU",
        "-lFoundationEssentials", "-lFoundationInternationalization", "-l_FoundationCShims",
        "-l_FoundationCollections", "-lswiftSynchronization", "-Xlinker", "--end-group",
    ] : []
let library = [
    "-Xlinker", "-soname=libplusguidance.so.0", "-Xlinker", "--version-script=\(here)/plusguidance.map",
    "-Xlinker", "-z", "-Xlinker", "defs",
]

let package = Package(
    name: "PlusGuidanceCLibrary",
    platforms: [.macOS(.v15)],
    products: [.library(name: "plusguidance", type: .dynamic, targets: ["PlusGuidanceC"])],
    dependencies: [.package(name: "PlusGuidanceKit", path: "..")],
    targets: [
        .target(name: "CPlusGuidanceSupport"),
        .target(
            name: "PlusGuidanceC",
            dependencies: ["CPlusGuidanceSupport", .product(name: "PlusGuidanceSync", package: "PlusGuidanceKit")],
            swiftSettings: [
                // The header Swift generates for the `@c` functions, which
                // scripts/check-c-library compares with the hand-kept include/plusguidance.h.
                .unsafeFlags(["-emit-clang-header-path", "\(here)/.build/plusguidance-generated.h"]),
                .enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility"),
                .treatAllWarnings(as: .error),
            ],
            linkerSettings: [.unsafeFlags(runtime + library)]
        ),
    ],
    swiftLanguageModes: [.v6]
)
