import Foundation
import OCI

/// What browsing the registry reads (the web UI, reports): the distribution API's own reads
/// through the `RegistryContent` that `/v2/` serves (so a mirrored repository lists the same
/// here as there), plus facts only the store keeps (push times from its links' modification
/// times, sizes of the blobs a repository links).
public struct RegistryQueries: Sendable {
    public let content: any RegistryContent
    let store: RegistryStore

    public init(content: any RegistryContent, store: RegistryStore) {
        self.content = content
        self.store = store
    }

    public var options: RegistryOptions { content.options }

    /// Every repository name, in order (the catalog's index, kept current with other writers).
    public func repositories() async throws -> [String] {
        try await content.catalog(after: nil, limit: 10_000_000).names
    }

    /// Whether the page of a repository exists: one with content here, or one answered from
    /// another registry.
    public func exists(_ repository: RepositoryName) async throws -> Bool {
        if try await store.repositoryExists(repository) { return true }
        return content.upstream(of: repository) != nil
    }

    public func tags(_ repository: RepositoryName) async throws -> [String] {
        try await content.tags(repository)
    }

    /// The manifest a tag points at here; nil for a tag this registry has not got (yet).
    public func resolve(_ repository: RepositoryName, _ tag: Tag) async throws -> Digest? {
        try await content.resolveTag(repository, tag)
    }

    /// Every tag held here with its manifest.
    public func tagTargets(_ repository: RepositoryName) async throws -> [(tag: Tag, digest: Digest)] {
        try await store.tagTargets(repository)
    }

    public func manifest(_ repository: RepositoryName, _ digest: Digest) async throws -> StoredManifest {
        try await content.manifest(repository, .digest(digest))
    }

    public func referrers(_ repository: RepositoryName, of subject: Digest) async throws -> [Descriptor] {
        try await content.referrers(repository, subject: subject, artifactType: nil)
    }

    /// A small blob (an image configuration), whole, or nil when it is larger than `limit`.
    public func smallBlob(_ repository: RepositoryName, _ digest: Digest, limit: Int = 1 << 20) async throws -> [UInt8]? {
        var bytes: [UInt8] = []
        var tooLarge = false
        try await content.readBlob(repository, digest, range: nil) { chunk in
            guard !tooLarge, bytes.count + chunk.readableBytes <= limit else { tooLarge = true; return }
            bytes += chunk.readableBytesView
        }
        return tooLarge ? nil : bytes
    }

    /// When the tag was last moved here (its link's modification time).
    public func pushed(_ repository: RepositoryName, _ tag: Tag) async -> Date? {
        guard let time = try? await store.driver.stat(Layout.tagCurrentLink(repository, tag)).modifiedAt, time > 0 else { return nil }
        return Date(timeIntervalSince1970: time)
    }

    public func lastPush(_ repository: RepositoryName) async -> Date? {
        await store.lastPush(repository)
    }

    /// The blobs the repository links and their bytes (a blob shared with another repository
    /// counts in each).
    public func usage(_ repository: RepositoryName) async throws -> (blobs: Int, bytes: Int64) {
        try await store.usage(repository)
    }

    /// Uploads started before `cutoff` and never finished (a walk of every repository's uploads).
    public func abandonedUploads(startedBefore cutoff: Date) async throws -> [RegistryStore.AbandonedUpload] {
        try await store.removeUploads(startedBefore: cutoff, dryRun: true)
    }

    public func upstream(of repository: RepositoryName) -> String? {
        content.upstream(of: repository)
    }
}
