// swift-tools-version:6.0
import PackageDescription

// The linker does not run in the package folder, so the version script needs an absolute path.
let exportsMap = Context.packageDirectory + "/Sources/SwiftNATS/exports.map"

// SWIFTNATS_DYNAMIC_RUNTIME=1 links the Swift runtime dynamically: a trap then prints a
// backtrace instead of a silent SIGILL. Release artefacts always carry the runtime statically.
let dynamicRuntime = Context.environment["SWIFTNATS_DYNAMIC_RUNTIME"] == "1"

// lld, because gold keeps the version script's hidden symbols as LOCAL entries in .dynsym,
// where `nm -D` still lists them; lld leaves only the exported snats_* functions.
var libraryLinkerSettings: [LinkerSetting] = [
    .unsafeFlags([
        "-use-ld=lld",
        "-Xlinker", "--version-script=\(exportsMap)",
        "-Xlinker", "-soname=libswiftnats.so.0",
    ])
]
if !dynamicRuntime {
    libraryLinkerSettings.append(.unsafeFlags(["-static-stdlib"]))
}

// Shared state in these modules is guarded by locks, not by Swift's exclusivity model; the
// runtime's dynamic exclusivity checks cost about a tenth of a publish (measured with perf on
// `snats bench pub`), so release builds leave them out. Debug builds (swift test) keep them.
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "swiftnats",
    products: [
        .library(name: "swiftnats", type: .dynamic, targets: ["SwiftNATS"]),
        .library(name: "NATS", targets: ["NATS"]),
        .library(name: "NATSMicro", targets: ["NATSMicro"]),
        .library(name: "NATSRPC", targets: ["NATSRPC"]),
        .library(name: "NATSJetStream", targets: ["NATSJetStream"]),
        .executable(name: "snats", targets: ["snats"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CJansson",
            path: "Sources/CJansson",
            pkgConfig: "jansson",
            providers: [.apt(["libjansson-dev"])]
        ),
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        .target(
            name: "NATS",
            dependencies: [
                "CJansson",
                "CEpoll",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "NATSMicro",
            dependencies: ["NATS"],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "NATSRPC",
            dependencies: ["NATS", "NATSMicro"],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "NATSJetStream",
            dependencies: ["NATS"],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "SwiftNATS",
            dependencies: ["NATS", "NATSMicro", "NATSRPC", "NATSJetStream", "CJansson"],
            exclude: ["exports.map"],
            swiftSettings: hotPathSettings,
            linkerSettings: libraryLinkerSettings
        ),
        .executableTarget(
            name: "snats",
            dependencies: [
                "NATS",
                "NATSMicro",
                "NATSRPC",
                "NATSJetStream",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The nats-server fixture and test helpers, shared by the XCTest targets.
        .target(
            name: "NATSTestSupport",
            path: "Tests/NATSTestSupport"
        ),
        .testTarget(
            name: "NATSTests",
            dependencies: [
                "NATS",
                "NATSTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "NATSMicroTests",
            dependencies: ["NATSMicro", "NATS", "NATSTestSupport"]
        ),
        .testTarget(
            name: "NATSJetStreamTests",
            dependencies: ["NATSJetStream", "NATS", "NATSTestSupport"]
        ),
        .testTarget(
            name: "NATSRPCTests",
            dependencies: ["NATSRPC", "NATSMicro", "NATS", "NATSTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
