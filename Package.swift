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
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        // The sandbox's fork/unshare/chroot/exec trampoline: code that must run between fork and exec,
        // where Swift cannot.
        .target(name: "CSandbox"),

        // Safe wrappers: the only modules that import the C modules.
        .target(name: "KilnHTTP", dependencies: ["CCurl"]),
        .target(name: "KilnCrypto", dependencies: ["COpenSSL"]),
        .target(name: "KilnArchive", dependencies: ["CArchive", "CZlib", "CZstd", "KilnCrypto"]),

        // Recipe language: model, YAML loader with positions, validation, composition, hash, rendering.
        .target(name: "Recipe", dependencies: [
            "KilnCrypto", "KilnArchive",
            .product(name: "Yams", package: "Yams"),
        ]),

        // AWS: the SigV4 signer, the credential chain, and the client core (endpoints, protocols,
        // errors, retries) with one client per service.
        .target(name: "SigV4", dependencies: ["KilnCrypto"]),
        .target(name: "AWSCredentials", dependencies: ["SigV4", "KilnHTTP"]),
        .target(name: "AWSCore", dependencies: ["SigV4", "AWSCredentials", "KilnHTTP", "KilnCrypto"]),
        .target(name: "EC2", dependencies: ["AWSCore"]),
        .target(name: "SSM", dependencies: ["AWSCore"]),
        .target(name: "S3", dependencies: ["AWSCore", "SigV4", "KilnHTTP", "KilnCrypto"]),
        .target(name: "ECR", dependencies: ["AWSCore"]),
        .target(name: "STS", dependencies: ["AWSCore", "AWSCredentials", "SigV4", "KilnHTTP"]),

        // OCI: the image-spec model and the image layout.
        .target(name: "OCI", dependencies: ["KilnCrypto", "KilnArchive"]),
        // The distribution-spec client: auth, pull, push (ECR first).
        .target(name: "OCIRegistry", dependencies: ["OCI", "KilnHTTP", "KilnCrypto", "KilnArchive", "ECR",
                                                   "AWSCore", "AWSCredentials"]),
        // The namespace sandbox that run/apt/pip steps execute in.
        .target(name: "Sandbox", dependencies: ["CSandbox", "KilnArchive"]),

        // Pipelines: typed steps with cleanup and a journal; the AMI build.
        .target(name: "Pipeline"),
        .target(name: "OCIPipeline", dependencies: ["Pipeline", "Recipe", "OCI", "OCIRegistry", "Sandbox",
                                                   "KilnArchive", "KilnCrypto", "KilnHTTP"]),
        .target(name: "AMIPipeline", dependencies: ["Pipeline", "Recipe", "EC2", "SSM", "S3", "STS", "AWSCore",
                                                   "AWSCredentials", "KilnArchive", "KilnCrypto"]),

        // Publishing: the images/ catalog, the student page, SSM parameters, retention.
        .target(name: "Catalog", dependencies: ["Recipe", "OCI", "EC2", "SSM", "ECR", "STS", "AWSCore", "KilnCrypto"]),

        // Commands (one file per subcommand) and the thin executable.
        .target(name: "KilnCommands", dependencies: [
            "Recipe", "AMIPipeline", "OCIPipeline", "OCIRegistry", "OCI", "Sandbox", "Catalog", "SSM", "S3", "Pipeline", "AWSCore", "AWSCredentials", "STS", "EC2", "ECR",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "kiln", dependencies: ["KilnCommands"]),

        .testTarget(name: "KilnHTTPTests", dependencies: ["KilnHTTP"]),
        .testTarget(name: "KilnCryptoTests", dependencies: ["KilnCrypto"]),
        .testTarget(name: "KilnArchiveTests", dependencies: ["KilnArchive", "KilnCrypto", "KilnTestSupport"]),
        .testTarget(name: "RecipeTests", dependencies: ["Recipe", "KilnArchive", "KilnTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "SigV4Tests", dependencies: ["SigV4"], exclude: ["Fixtures"]),
        .testTarget(name: "AWSCredentialsTests", dependencies: ["AWSCredentials"]),
        .testTarget(name: "AWSCoreTests", dependencies: ["AWSCore", "KilnHTTP", "KilnTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "EC2Tests", dependencies: ["EC2", "KilnTestSupport"]),
        .testTarget(name: "SSMTests", dependencies: ["SSM", "KilnTestSupport"]),
        .testTarget(name: "S3Tests", dependencies: ["S3", "KilnTestSupport"]),
        .testTarget(name: "ECRTests", dependencies: ["ECR", "KilnTestSupport"]),
        .testTarget(name: "STSTests", dependencies: ["STS", "KilnTestSupport"]),
        .testTarget(name: "AWSFaultTests", dependencies: ["EC2", "SSM", "S3", "ECR", "KilnTestSupport"]),
        .testTarget(name: "OCITests", dependencies: ["OCI", "KilnArchive", "KilnCrypto", "KilnTestSupport"]),
        .testTarget(name: "OCIRegistryTests", dependencies: ["OCIRegistry", "OCI", "ECR", "KilnHTTP", "KilnArchive",
                                                             "KilnCrypto", "KilnTestSupport"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "KilnArchive", "KilnTestSupport"]),
        .testTarget(name: "OCIPipelineTests", dependencies: ["OCIPipeline", "OCI", "OCIRegistry", "Sandbox", "Recipe",
                                                             "KilnArchive", "KilnCrypto", "KilnTestSupport"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "Recipe", "EC2", "SSM", "AWSCore", "KilnTestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "KilnTestSupport"]),
        .testTarget(name: "AMIPipelineTests", dependencies: ["AMIPipeline", "KilnTestSupport"]),
        // Helpers shared by the test targets: servers on loopback ports, moto, temporary directories.
        .target(name: "KilnTestSupport", dependencies: ["AWSCore", "AWSCredentials", "SigV4", "OCI", "KilnArchive"],
                path: "Tests/KilnTestSupport", exclude: ["fault_proxy.py"]),
        .testTarget(name: "KilnCommandsTests", dependencies: ["KilnCommands", "Recipe", "OCI", "OCIRegistry", "OCIPipeline",
                                                             "Sandbox", "KilnArchive", "Catalog", "EC2", "SSM",
                                                             "KilnTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
