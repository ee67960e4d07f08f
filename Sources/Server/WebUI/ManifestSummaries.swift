import NIOConcurrencyHelpers
import OCI
import Storage

/// Per manifest digest, what a tag list shows (kind, platforms, total size). Manifests are
/// immutable, so a summary computed once stays true; the cache only bounds memory.
final class ManifestSummaries: Sendable {
    struct Summary: Sendable {
        var kind: String
        var platforms: String
        var size: Int64
        /// What the image says about itself: `org.opencontainers.image.*` annotations of its
        /// manifest, else labels of its configuration, by the key's last part (`description`…).
        var about: [String: String] = [:]
    }

    static let aboutPrefix = "org.opencontainers.image."

    static func about(annotations: [String: String]?, labels: [String: String]?) -> [String: String] {
        var about: [String: String] = [:]
        for source in [labels ?? [:], annotations ?? [:]] {
            for (key, value) in source where key.hasPrefix(aboutPrefix) && !value.isEmpty {
                about[String(key.dropFirst(aboutPrefix.count))] = String(value.prefix(2048))
            }
        }
        return about
    }

    private let cache = NIOLockedValueBox<[Digest: Summary]>([:])
    static let capacity = 50_000

    func summary(_ manifest: StoredManifest, in repository: RepositoryName, queries: RegistryQueries) async -> Summary {
        if let known = cache.withLockedValue({ $0[manifest.digest] }) { return known }
        var summary = Summary(kind: Formatting.kind(manifest.mediaType), platforms: "", size: manifest.size)
        if let parsed = try? Manifest(parsing: manifest.bytes, contentType: manifest.mediaType) {
            switch parsed.kind {
            case .index:
                summary.platforms = parsed.manifests.compactMap { $0.platform.map(Formatting.platform) }.joined(separator: ", ")
                summary.size = await Self.totalSize(of: manifest.digest, size: manifest.size, parsed, in: repository, queries: queries)
                summary.about = Self.about(annotations: parsed.annotations, labels: nil)
                // An index rarely describes itself; its first image usually does.
                if summary.about.isEmpty, let first = parsed.manifests.first(where: { $0.platform?.os != "unknown" }),
                   let child = try? await queries.manifest(repository, first.digest),
                   let image = try? Manifest(parsing: child.bytes, contentType: child.mediaType), image.kind == .image {
                    summary.about = await Self.about(of: image, in: repository, queries: queries)
                }
            case .image:
                summary.size += (parsed.config?.size ?? 0) + parsed.layers.reduce(0) { $0 + $1.size }
                if let config = parsed.config, config.size <= 1 << 20,
                   let bytes = try? await queries.smallBlob(repository, config.digest),
                   let image = ImageConfiguration(decoding: bytes) {
                    summary.platforms = image.platform
                    summary.about = Self.about(annotations: parsed.annotations, labels: image.config?.Labels)
                } else {
                    summary.about = Self.about(annotations: parsed.annotations, labels: nil)
                }
                if let artifactType = Formatting.artifactType(parsed) { summary.kind = artifactType }
            }
        }
        cache.withLockedValue { cache in
            if cache.count >= Self.capacity { cache.removeAll(keepingCapacity: true) }
            cache[manifest.digest] = summary
        }
        return summary
    }

    static func about(of image: Manifest, in repository: RepositoryName, queries: RegistryQueries) async -> [String: String] {
        var labels: [String: String]?
        if let config = image.config, config.size <= 1 << 20, let bytes = try? await queries.smallBlob(repository, config.digest) {
            labels = ImageConfiguration(decoding: bytes)?.config?.Labels
        }
        return about(annotations: image.annotations, labels: labels)
    }

    /// What an index takes: itself, the manifests it lists and their configurations and
    /// layers, each blob once (platforms often share layers), as the repository list counts
    /// a repository. Nested indexes are followed a few levels deep.
    static func totalSize(of digest: Digest, size: Int64, _ index: Manifest, in repository: RepositoryName,
                          queries: RegistryQueries) async -> Int64 {
        var counted: [Digest: Int64] = [digest: size]
        var pending: [(Descriptor, depth: Int)] = index.manifests.map { ($0, 1) }
        while let (descriptor, depth) = pending.popLast() {
            guard counted[descriptor.digest] == nil else { continue }
            counted[descriptor.digest] = descriptor.size
            guard depth <= 4, let child = try? await queries.manifest(repository, descriptor.digest),
                  let parsed = try? Manifest(parsing: child.bytes, contentType: child.mediaType) else { continue }
            switch parsed.kind {
            case .index:
                pending += parsed.manifests.map { ($0, depth + 1) }
            case .image:
                for blob in [parsed.config].compactMap({ $0 }) + parsed.layers { counted[blob.digest] = blob.size }
            }
        }
        return counted.values.reduce(0, +)
    }
}
