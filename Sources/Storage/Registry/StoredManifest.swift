import Foundation
import OCI

/// A manifest as stored: the exact bytes, their digest and the media type they declare.
public struct StoredManifest: Sendable {
    public var bytes: [UInt8]
    public var digest: Digest
    public var mediaType: String
    public var subject: Descriptor?
    public var artifactType: String?
    public var annotations: [String: String]?

    public var size: Int64 { Int64(bytes.count) }

    /// A descriptor of this manifest as it appears in a referrers list.
    public var referrerDescriptor: Descriptor {
        Descriptor(mediaType: mediaType, digest: digest, size: size, annotations: annotations, artifactType: artifactType)
    }

    private struct Probe: Decodable {
        struct Config: Decodable { var mediaType: String? }
        var schemaVersion: Int?
        var mediaType: String?
        var artifactType: String?
        var config: Config?
        var manifests: [Descriptor]?
        var subject: Descriptor?
        var annotations: [String: String]?
        var signatures: [AnyDecodable]?
    }

    private struct AnyDecodable: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    /// A manifest just validated on push: no need to decode it again.
    public init(bytes: [UInt8], digest: Digest, manifest: Manifest) {
        self.bytes = bytes
        self.digest = digest
        mediaType = manifest.mediaType
        subject = manifest.subject
        annotations = manifest.annotations
        artifactType = manifest.effectiveArtifactType
    }

    /// Reads back what is stored, leniently: content written by other registries (schema1,
    /// manifests without `mediaType`) is still served with the best media type available.
    public init(bytes: [UInt8], digest: Digest) {
        self.bytes = bytes
        self.digest = digest
        let probe = try? JSONDecoder().decode(Probe.self, from: Data(bytes))
        if let declared = probe?.mediaType, !declared.isEmpty {
            mediaType = declared
        } else if probe?.schemaVersion == 1 {
            mediaType = probe?.signatures != nil ? MediaType.dockerSchema1Signed : MediaType.dockerSchema1
        } else if probe?.manifests != nil {
            mediaType = MediaType.ociIndex
        } else {
            mediaType = MediaType.ociManifest
        }
        subject = probe?.subject
        annotations = probe?.annotations
        if let type = probe?.artifactType {
            artifactType = type
        } else if !MediaType.isIndex(mediaType) {
            artifactType = probe?.config?.mediaType
        } else {
            artifactType = nil
        }
    }
}
