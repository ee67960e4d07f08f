import Foundation

/// A manifest or index as pushed, decoded just enough to validate it and to know what it
/// references. The stored bytes are always the bytes the client sent.
public struct Manifest: Sendable {
    public enum Kind: Sendable { case image, index }

    public var mediaType: String
    public var kind: Kind
    public var config: Descriptor?
    public var layers: [Descriptor]
    /// Children of an index.
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    public var artifactType: String?
    public var annotations: [String: String]?

    /// The maximum manifest body the registry accepts.
    public static let maxSize = 4 * 1024 * 1024

    /// Parses and validates `bytes` pushed with the given `Content-Type` (may be empty, in
    /// which case the body's own `mediaType` decides).
    public init(parsing bytes: [UInt8], contentType: String?) throws(RegistryError) {
        let wire: ManifestWire<Descriptor>
        do {
            wire = try JSONDecoder().decode(ManifestWire<Descriptor>.self, from: Data(bytes))
        } catch {
            throw RegistryError(.manifestInvalid, message: "manifest invalid: not a valid JSON manifest",
                                detailJSON: RegistryError.detail(["reason": Self.describe(error)]))
        }
        let headerType = contentType.map(MediaType.essence).flatMap { $0.isEmpty ? nil : $0 }
        var type: String
        switch (headerType, wire.mediaType) {
        case (let h?, let b?) where MediaType.manifestTypes.contains(h):
            guard h == b else {
                throw RegistryError(.manifestInvalid, message: "manifest invalid: mediaType \(b) does not match Content-Type \(h)")
            }
            type = h
        case (let h?, nil) where MediaType.manifestTypes.contains(h):
            type = h
        case (let h?, _) where h != "application/json" && h != MediaType.octetStream:
            throw RegistryError(.manifestInvalid, message: "manifest invalid: unsupported manifest media type \(h)")
        case (_, let b?):
            type = b
        case (_, nil):
            // No declared type anywhere: OCI allows mediaType to be omitted, so infer from shape.
            type = wire.manifests != nil ? MediaType.ociIndex : MediaType.ociManifest
        }
        guard MediaType.manifestTypes.contains(type) else {
            throw RegistryError(.manifestInvalid, message: "manifest invalid: unsupported manifest media type \(type)")
        }
        guard wire.schemaVersion == 2 else {
            throw RegistryError(.manifestInvalid, message: "manifest invalid: schemaVersion must be 2")
        }
        if type == MediaType.dockerManifest || type == MediaType.dockerManifestList, wire.mediaType == nil {
            throw RegistryError(.manifestInvalid, message: "manifest invalid: Docker manifests must declare mediaType")
        }
        mediaType = type
        artifactType = wire.artifactType
        subject = wire.subject
        annotations = wire.annotations
        if MediaType.isIndex(type) {
            kind = .index
            guard let manifests = wire.manifests else {
                throw RegistryError(.manifestInvalid, message: "manifest invalid: index has no manifests field")
            }
            self.manifests = manifests
            config = nil
            layers = []
        } else {
            kind = .image
            guard let config = wire.config else {
                throw RegistryError(.manifestInvalid, message: "manifest invalid: image manifest has no config")
            }
            self.config = config
            layers = wire.layers ?? []
            manifests = []
        }
        for d in [config].compactMap({ $0 }) + layers + manifests where d.size < 0 {
            throw RegistryError(.manifestInvalid, message: "manifest invalid: negative size for \(d.digest)")
        }
    }

    /// The artifact type reported for this manifest in a referrers list: its own
    /// `artifactType`, else (for image manifests) its config's media type.
    public var effectiveArtifactType: String? {
        if let artifactType { return artifactType }
        if kind == .image { return config?.mediaType }
        return nil
    }

    /// Blobs (config and layers) this manifest references.
    public var referencedBlobs: [Descriptor] {
        (config.map { [$0] } ?? []) + layers
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c), DecodingError.typeMismatch(_, let c),
             DecodingError.valueNotFound(_, let c), DecodingError.keyNotFound(_, let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "\(path): \(c.debugDescription)"
        default:
            return "malformed JSON"
        }
    }
}
