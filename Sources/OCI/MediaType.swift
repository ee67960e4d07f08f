import Foundation

/// Media types the registry understands for manifests.
public enum MediaType {
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let ociEmptyJSON = "application/vnd.oci.empty.v1+json"
    public static let octetStream = "application/octet-stream"

    /// Manifest media types accepted on PUT.
    public static let manifestTypes: Set<String> = [dockerManifest, dockerManifestList, ociManifest, ociIndex]
    /// Manifests of one image (not indexes).
    public static let imageManifestTypes: Set<String> = [dockerManifest, ociManifest]

    public static func isIndex(_ type: String) -> Bool { type == dockerManifestList || type == ociIndex }

    /// Strips parameters and whitespace: `application/json; charset=utf-8` → `application/json`.
    public static func essence(_ headerValue: String) -> String {
        var bytes = headerValue.utf8.prefix { $0 != UInt8(ascii: ";") }[...]
        while let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes = bytes.dropLast() }
        guard bytes.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return String(Substring(bytes)) }
        return String(decoding: bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
