import Foundation
import OCI

/// A manifest as stored: the exact bytes, their digest and the media type they declare.
public struct StoredManifest: Sendable {
    public var bytes: [UInt8]
    public var digest: Digest
    public var mediaType: String
    public var subject: Digest?
    public var artifactType: String?
    public var annotations: [String: String]?

    public var size: Int64 { Int64(bytes.count) }

    /// A descriptor of this manifest as it appears in a referrers list.
    public var referrerDescriptor: Descriptor {
        Descriptor(mediaType: mediaType, digest: digest, size: size, annotations: annotations, artifactType: artifactType)
    }

    /// A manifest just validated on push: no need to decode it again.
    public init(bytes: [UInt8], digest: Digest, manifest: Manifest) {
        self.bytes = bytes
        self.digest = digest
        mediaType = manifest.mediaType
        subject = manifest.subject?.digest
        annotations = manifest.annotations
        artifactType = manifest.effectiveArtifactType
    }

    /// Reads back what is stored, leniently: content written by other registries (schema1,
    /// manifests without `mediaType`) is still served with the best media type available.
    public init(bytes: [UInt8], digest: Digest) {
        self.bytes = bytes
        self.digest = digest
        let outline = try? ManifestOutline(stored: bytes)
        mediaType = outline?.mediaType ?? MediaType.ociManifest
        subject = outline?.subject
        annotations = outline?.annotations
        artifactType = outline?.artifactType
    }
}
