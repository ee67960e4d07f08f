import Foundation

/// An image's configuration blob (OCI image config, or Docker's container config, which has
/// the same fields), as far as Berth shows it: platform, creation time, run settings, history.
public struct ImageConfiguration: Decodable, Sendable {
    public struct Settings: Decodable, Sendable {
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var WorkingDir: String?
        public var User: String?
        public var Labels: [String: String]?
    }

    public struct History: Decodable, Sendable {
        public var created_by: String?
        public var empty_layer: Bool?
    }

    public var architecture: String?
    public var os: String?
    public var variant: String?
    public var created: String?
    public var config: Settings?
    public var history: [History]?

    /// The config media types that hold an image configuration.
    public static let mediaTypes: Set<String> = [
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    ]

    /// Nil when `bytes` are not a JSON object of this shape (an artifact's config, say).
    public init?(decoding bytes: [UInt8]) {
        guard let decoded = try? JSONDecoder().decode(Self.self, from: Data(bytes)) else { return nil }
        self = decoded
    }

    /// `os/architecture[/variant]`, empty parts left out.
    public var platform: String {
        [os, architecture, variant].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "/")
    }
}

/// An image index as Berth writes one (the referrers API's answer) and reads one back.
public struct ImageIndex: Codable, Sendable {
    public var schemaVersion = 2
    public var mediaType: String? = MediaType.ociIndex
    public var manifests: [Descriptor]

    public init(manifests: [Descriptor]) {
        self.manifests = manifests
    }
}
