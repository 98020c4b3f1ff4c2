/// Media types of the OCI image-spec v1.1 (media-types.md) and the Docker image manifest v2 schema 2
/// types that readers accept for compatibility.
public enum MediaType {
    /// The OCI image manifest (manifest.md).
    public static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    /// The OCI image index (image-index.md).
    public static let imageIndex = "application/vnd.oci.image.index.v1+json"
    /// The OCI image configuration (config.md).
    public static let imageConfig = "application/vnd.oci.image.config.v1+json"
    /// An uncompressed tar layer.
    public static let layerTar = "application/vnd.oci.image.layer.v1.tar"
    /// A gzip-compressed tar layer.
    public static let layerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    /// A zstd-compressed tar layer.
    public static let layerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    /// The empty descriptor's media type (`{}`; manifest.md, "Guidance for an Empty Descriptor").
    public static let empty = "application/vnd.oci.empty.v1+json"

    /// Docker schema-2 image manifest (read only).
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    /// Docker schema-2 manifest list (read only).
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// Docker schema-2 container config (read only).
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    /// Docker schema-2 gzip-compressed layer (read only).
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    /// Media types accepted for an image manifest on read.
    public static let manifestTypes: Set<String> = [imageManifest, dockerManifest]
    /// Media types accepted for an index on read.
    public static let indexTypes: Set<String> = [imageIndex, dockerManifestList]
    /// Media types accepted for an image config on read.
    public static let configTypes: Set<String> = [imageConfig, dockerConfig]
    /// Media types accepted for a layer on read.
    public static let layerTypes: Set<String> = [layerTar, layerTarGzip, layerTarZstd, dockerLayerGzip]
}
