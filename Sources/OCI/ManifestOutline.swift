import Foundation

/// A stored manifest read back leniently: what it declares and every digest it references,
/// whatever registry wrote it (schema 1, no `mediaType`, descriptors with missing fields).
/// Serving, garbage collection and backup read stored manifests through this; pushes are
/// validated by `Manifest`, over the same `ManifestWire`.
public struct ManifestOutline: Sendable, Equatable {
    /// The declared media type, else the best inferred from the content's shape.
    public var mediaType: String
    /// The type a referrers list reports: `artifactType`, else an image's config media type.
    public var artifactType: String?
    public var annotations: [String: String]?
    public var subject: Digest?
    /// Config and layers (schema 1: its fsLayers) that must be stored with the manifest.
    public var blobs: [Digest]
    /// Non-distributable (foreign) layers with URLs: clients fetch them from those URLs, so
    /// they are stored only where someone pushed them anyway.
    public var foreignBlobs: [Digest]
    /// The manifests an index lists.
    public var children: [Digest]

    /// Layer media types whose blobs clients download from the descriptor's `urls`.
    public static let foreignLayerTypes: Set<String> = [
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    ]

    /// Throws only when `bytes` are not a JSON object of the manifest shape at all.
    public init(stored bytes: [UInt8]) throws {
        let wire = try JSONDecoder().decode(ManifestWire<LooseEntry>.self, from: Data(bytes))
        func digest(_ text: String?) -> Digest? { text.flatMap { try? Digest(parsing: $0) } }
        if let declared = wire.mediaType, !declared.isEmpty {
            mediaType = declared
        } else if wire.schemaVersion == 1 {
            mediaType = wire.signatures != nil ? MediaType.dockerSchema1Signed : MediaType.dockerSchema1
        } else if wire.manifests != nil {
            mediaType = MediaType.ociIndex
        } else {
            mediaType = MediaType.ociManifest
        }
        artifactType = wire.artifactType ?? (MediaType.isIndex(mediaType) ? nil : wire.config?.mediaType)
        annotations = wire.annotations
        subject = digest(wire.subject?.digest)
        var required = [wire.config?.digest].compactMap(digest), foreign: [Digest] = []
        for layer in wire.layers ?? [] {
            guard let d = digest(layer.digest) else { continue }
            if Self.isForeign(layer.mediaType, urls: layer.urls) { foreign.append(d) } else { required.append(d) }
        }
        blobs = required + (wire.fsLayers ?? []).compactMap { digest($0.blobSum) }
        foreignBlobs = foreign
        children = (wire.manifests ?? []).compactMap { digest($0.digest) }
    }

    /// A foreign layer with somewhere to fetch it from.
    public static func isForeign(_ mediaType: String?, urls: [String]?) -> Bool {
        guard let mediaType, foreignLayerTypes.contains(mediaType), let urls else { return false }
        return !urls.isEmpty
    }
}
