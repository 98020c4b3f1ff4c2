import Foundation
import KilnArchive
import OCI

/// An OCI image layout holding a busybox root (from `BusyboxRoot`) as one gzip layer, tagged
/// `busybox`, with `/etc/motd-to-delete` in it for whiteout tests and `BASE=busybox` in its env: a
/// small, real base image for pipeline and command tests.
public enum BusyboxLayout {
    /// Writes the layout at `path` (created), using `scratch` as a temporary root directory.
    public static func make(at path: String, scratch: String) throws {
        try BusyboxRoot.make(at: scratch)
        try "delete me\n".write(toFile: scratch + "/etc/motd-to-delete", atomically: true, encoding: .utf8)
        let layout = try ImageLayout.create(at: path)
        let temp = path + "/layer.tmp"
        let writer = try LayerWriter(path: temp, options: .init(compression: .gzip(), clampMTime: 1_600_000_000))
        try writer.addTree(at: scratch)
        let digests = try writer.finish()
        let layer = try layout.writeBlob(fromFile: temp, mediaType: MediaType.layerTarGzip,
                                         expected: try Digest(parsing: digests.digest))
        try FileManager.default.removeItem(atPath: temp)
        let config = ImageConfig(architecture: "amd64", os: "linux",
                                 config: .init(env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "BASE=busybox"], cmd: ["/bin/sh"]),
                                 rootfs: .init(diffIDs: [try Digest(parsing: digests.diffID)]))
        let configDescriptor = try layout.writeConfig(config)
        _ = try layout.addManifest(Manifest(config: configDescriptor, layers: [layer]), tag: "busybox")
        try FileManager.default.removeItem(atPath: scratch)
    }
}
