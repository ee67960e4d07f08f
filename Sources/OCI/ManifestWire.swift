import Foundation

/// The one JSON shape every manifest is read through. `Entry` is a full `Descriptor` when a
/// push is validated (`Manifest`), and a digest-first `LooseEntry` when stored content of
/// any origin is read back (`ManifestOutline`), so the two readings cannot drift apart.
struct ManifestWire<Entry: Decodable>: Decodable {
    var schemaVersion: Int?
    var mediaType: String?
    var artifactType: String?
    var config: Entry?
    var layers: [Entry]?
    var manifests: [Entry]?
    var subject: Entry?
    var annotations: [String: String]?
    /// Docker schema 1, which other registries may have stored.
    var fsLayers: [FSLayer]?
    var signatures: Anything?

    struct FSLayer: Decodable { var blobSum: String? }
    /// Whatever a key holds, for keys whose presence is all that matters.
    struct Anything: Decodable { init(from decoder: any Decoder) throws {} }
}

/// A descriptor as stored content may hold it: only what reading back needs, every field
/// optional, so that one odd descriptor never hides the others' digests from the collector.
struct LooseEntry: Decodable {
    var mediaType: String?
    var digest: String?
    var urls: [String]?
}
