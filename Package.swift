// swift-tools-version:6.0
// kiln — bakes data-science images (AMIs and OCI images) from one YAML recipe.
// Layering (see ../shared/design.md): C system libraries at the bottom, three safe
// wrappers over them, then the recipe model, then the commands and a thin executable.
import PackageDescription

let package = Package(
    name: "kiln",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C layer: system libraries found through pkg-config, installed from Debian's archive.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"])]),

        // Safe wrappers: the only modules that import the C modules.
        .target(name: "KilnHTTP", dependencies: ["CCurl"]),
        .target(name: "KilnCrypto", dependencies: ["COpenSSL"]),
        .target(name: "KilnArchive", dependencies: ["CArchive"]),

        // Recipe language: model, YAML loader with positions, validation, composition, hash, rendering.
        .target(name: "Recipe", dependencies: [
            "KilnCrypto", "KilnArchive",
            .product(name: "Yams", package: "Yams"),
        ]),

        // Commands (one file per subcommand) and the thin executable.
        .target(name: "KilnCommands", dependencies: [
            "Recipe",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "kiln", dependencies: ["KilnCommands"]),

        .testTarget(name: "KilnHTTPTests", dependencies: ["KilnHTTP"]),
        .testTarget(name: "KilnCryptoTests", dependencies: ["KilnCrypto"]),
        .testTarget(name: "KilnArchiveTests", dependencies: ["KilnArchive"]),
        .testTarget(name: "RecipeTests", dependencies: ["Recipe", "KilnArchive"], exclude: ["Fixtures"]),
        .testTarget(name: "KilnCommandsTests", dependencies: ["KilnCommands", "Recipe"]),
    ],
    swiftLanguageModes: [.v6]
)
