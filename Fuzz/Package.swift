// swift-tools-version:6.0
// libFuzzer targets for swiftnats. Not part of the library's build: `make fuzz` builds this
// package with the fuzzer and ASan (see Fuzz/README.md) in its own scratch path.
import PackageDescription

let package = Package(
    name: "swiftnats-fuzz",
    dependencies: [
        // Named, so the product references below hold whatever the checkout folder is called.
        .package(name: "swiftnats", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // The receive path: InboundDecoder (the loop ConnectionHandler runs) over arbitrary splits.
        .executableTarget(
            name: "FuzzProtocol",
            dependencies: [
                .product(name: "NATS", package: "swiftnats"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // JSONCodec against Jansson's own loader.
        .executableTarget(
            name: "FuzzJSON",
            dependencies: [.product(name: "NATS", package: "swiftnats")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
