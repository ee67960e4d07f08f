import Foundation
import OCI

/// What `berth ls REPO` shows for one tag.
public struct ImageSummary: Sendable, Codable {
    public var tag: String
    public var digest: String
    public var mediaType: String
    public var platforms: [String]
    /// Manifest, config and layers; for an index, the sum over its children.
    public var size: Int64
    public var artifactType: String?
    /// Why the tag could not be described (an unreadable manifest, a tag deleted meanwhile);
    /// the other fields are then empty.
    public var error: String?

    public static func unreadable(_ tag: String, _ error: any Error) -> ImageSummary {
        ImageSummary(tag: tag, digest: "", mediaType: "", platforms: [], size: 0, error: "\(error)")
    }
}

extension RegistryClient {
    public func summarize(_ repository: RepositoryName, tag: Tag) async throws -> ImageSummary {
        let fetched = try await manifest(repository, .tag(tag))
        let manifest = fetched.parsed
        var summary = ImageSummary(tag: tag.value, digest: fetched.digest.description, mediaType: fetched.mediaType,
                                   platforms: [], size: Int64(fetched.bytes.count), artifactType: manifest.artifactType, error: nil)
        switch manifest.kind {
        case .image:
            summary.size += Self.contentSize(manifest)
            if let platform = try await imagePlatform(repository, manifest) { summary.platforms = [platform] }
        case .index:
            for child in manifest.manifests {
                if let platform = child.platform {
                    summary.platforms.append(Self.describe(platform))
                }
                if let childManifest = try? await self.manifest(repository, .digest(child.digest)) {
                    summary.size += Int64(childManifest.bytes.count) + Self.contentSize(childManifest.parsed)
                }
            }
        }
        return summary
    }

    static func contentSize(_ manifest: Manifest) -> Int64 {
        (manifest.config?.size ?? 0) + manifest.layers.reduce(0) { $0 + $1.size }
    }

    static func describe(_ platform: Platform) -> String {
        [platform.os, platform.architecture, platform.variant].compactMap { $0 }.joined(separator: "/")
    }

    /// `os/architecture` from an image's config, when the config is an image config.
    func imagePlatform(_ repository: RepositoryName, _ manifest: Manifest) async throws -> String? {
        guard let config = manifest.config, ImageConfiguration.mediaTypes.contains(config.mediaType),
              config.size <= 16 << 20 else { return nil }
        let bytes = try await blob(repository, config.digest)
        guard let parsed = ImageConfiguration(decoding: bytes), let os = parsed.os, let architecture = parsed.architecture else { return nil }
        return Self.describe(Platform(architecture: architecture, os: os, variant: parsed.variant))
    }
}
