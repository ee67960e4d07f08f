import Foundation
import OCI

/// How the pages write sizes, digests, platforms and times: the same everywhere.
enum Formatting {
    /// The one way the UI writes a moment: `2026-12-05 20:13 UTC` (sortable, the same for
    /// every reader and replica; a `<time datetime>` beside it carries the exact instant).
    static func time(_ date: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d UTC", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }

    /// A time written by a client (an image configuration's `created`: RFC 3339, often with
    /// nanoseconds), in the UI's format; as written when it is not RFC 3339.
    static func instant(_ text: String) -> String {
        let trimmed = text.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)
        guard let date = try? Date(trimmed, strategy: .iso8601) else { return text }
        return time(date)
    }

    /// A day, as date inputs take it: `2026-12-05` (UTC).
    static func day(_ date: Date) -> String { UTCDay.string(date) }

    private static var utc: Calendar { UTCDay.calendar }

    /// "1 tag", "2 tags".
    static func count(_ n: Int, _ singular: String, plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }

    static func size(_ bytes: Int64) -> String { ByteSize(bytes: bytes).description }

    static func short(_ digest: Digest) -> String { "\(digest.algorithm.rawValue):\(digest.hex.prefix(12))" }

    static func platform(_ p: OCI.Platform) -> String {
        [p.os, p.architecture, p.variant].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "/")
    }

    /// What an artifact (a signature, an SBOM…) declares itself to be; nil for a plain image.
    static func artifactType(_ manifest: Manifest) -> String? {
        if let artifactType = manifest.artifactType { return artifactType }
        guard manifest.kind == .image, let config = manifest.config?.mediaType else { return nil }
        return imageConfigTypes.contains(config) ? nil : config
    }

    static let imageConfigTypes: Set<String> = [
        "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json",
    ]

    static func kind(_ mediaType: String) -> String {
        switch mediaType {
        case MediaType.ociIndex, MediaType.dockerManifestList: "index"
        case MediaType.ociManifest, MediaType.dockerManifest: "image"
        default: mediaType
        }
    }
}






