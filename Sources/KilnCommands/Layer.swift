#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import KilnArchive
import OCI

/// `kiln layer DIR --output FILE`: writes a directory tree as one OCI image layer.
public struct Layer: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "Write a directory tree as one OCI image layer (a compressed tar) and print its digests.",
        discussion: """
        Writes everything under DIR (not DIR itself) as the layer kiln's builds make (image-spec \
        layer.md): a restricted-pax tar sorted by path bytes, numeric owners, xattrs kept, hard links, \
        symlinks and devices preserved, mtimes clamped to --epoch (default: SOURCE_DATE_EPOCH, else \
        not clamped). One streaming pass computes the diffID (SHA-256 of the tar), compresses (gzip in \
        pigz-style blocks on --threads cores, or zstd) and computes the blob digest; memory stays flat \
        whatever the tree's size, and the bytes are the same for any thread count.

        Prints the diffID (the config's rootfs.diff_ids entry), the digest and the size (the \
        manifest's layer descriptor), or with --json a record that also has the media type, the \
        uncompressed size and the seconds taken. An unfinished or failed layer file is removed.

        Examples:
          kiln layer rootfs --output layer.tar.gz
          kiln layer rootfs --output layer.tar.zst --compression zstd --threads 2 --json
          SOURCE_DATE_EPOCH=1700000000 kiln layer site-packages --output deps.tar.gz
        """)

    /// The tree.
    @Argument(help: "The directory whose contents become the layer.")
    public var directory: String

    /// The layer file.
    @Option(help: "The layer file to write (created or replaced).")
    public var output: String

    /// gzip or zstd.
    @Option(help: "Compression: gzip, zstd or none.")
    public var compression: String = "gzip"

    /// The compression level.
    @Option(help: "Compression level (gzip 1–9, default 6; zstd 1–19, default 3).")
    public var level: Int?

    /// Compression threads.
    @Option(help: "Compression threads (default: the online processor count). The output does not depend on it.")
    public var threads: Int?

    /// SOURCE_DATE_EPOCH.
    @Option(help: "Clamp every mtime to this many seconds since 1970 (default: SOURCE_DATE_EPOCH when set).")
    public var epoch: Int64?

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    /// Checks the options without touching the file system.
    public func validate() throws {
        guard ["gzip", "zstd", "none"].contains(compression) else {
            throw ValidationError("--compression must be gzip, zstd or none, got '\(compression)'")
        }
        if let level {
            switch compression {
            case "gzip" where !(1...9).contains(level):
                throw ValidationError("--level for gzip must be between 1 and 9")
            case "zstd" where !(1...19).contains(level):
                throw ValidationError("--level for zstd must be between 1 and 19")
            case "none":
                throw ValidationError("--level does not apply to --compression none")
            default: break
            }
        }
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if let epoch, epoch < 0 { throw ValidationError("--epoch must be a number of seconds since 1970") }
        if output.isEmpty { throw ValidationError("--output must name a file") }
    }

    /// What `--json` prints.
    struct Record: Encodable {
        var path: String
        var mediaType: String
        var diffID: String
        var digest: String
        var size: Int64
        var uncompressedSize: Int64
        var seconds: Double
    }

    /// Writes the layer and prints its digests (or the JSON record).
    public func run(context: CommandContext) throws {
        let source = context.absolute(directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("'\(directory)' is not a directory")
        }
        var clamp = epoch
        if clamp == nil, let text = context.environment["SOURCE_DATE_EPOCH"], !text.isEmpty {
            guard let value = Int64(text), value >= 0 else {
                throw ValidationError("SOURCE_DATE_EPOCH='\(text)' is not a number of seconds since 1970")
            }
            clamp = value
        }
        let chosen: LayerWriter.Compression
        let mediaType: String
        switch compression {
        case "zstd":
            chosen = .zstd(level: level ?? 3)
            mediaType = MediaType.layerTarZstd
        case "none":
            chosen = .none
            mediaType = MediaType.layerTar
        default:
            chosen = .gzip(level: level ?? 6)
            mediaType = MediaType.layerTarGzip
        }
        let path = context.absolute(output)
        let started = Date()
        let writer = try LayerWriter(path: path, options: .init(compression: chosen, threads: threads, clampMTime: clamp))
        try writer.addTree(at: source)
        let digests = try writer.finish()
        let seconds = Date().timeIntervalSince(started)
        if global.json {
            context.out(try jsonText(Record(path: path, mediaType: mediaType, diffID: digests.diffID, digest: digests.digest,
                                            size: digests.size, uncompressedSize: digests.uncompressedSize,
                                            seconds: (seconds * 1000).rounded() / 1000)))
        } else {
            context.out("diffID \(digests.diffID)\ndigest \(digests.digest)\nsize   \(digests.size)\n")
            if global.verbose {
                context.err("wrote \(path): \(digests.uncompressedSize) bytes of tar in "
                    + String(format: "%.2f s", seconds) + "\n")
            }
        }
    }
}
