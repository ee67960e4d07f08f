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
            case .image:
                summary.size += (parsed.config?.size ?? 0) + parsed.layers.reduce(0) { $0 + $1.size }
                if let config = parsed.config, config.size <= 1 << 20,
                   let bytes = try? await queries.smallBlob(repository, config.digest),
                   let image = ImageConfiguration(decoding: bytes) {
                    summary.platforms = image.platform
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
