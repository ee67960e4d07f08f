import Foundation
import Client
import Logging
import NIOCore
import OCI
import Storage

/// A pull-through cache around the registry's stored content: repositories under an
/// upstream's prefix are answered from storage when cached and fresh, else fetched from the
/// upstream, stored like pushed content and served; every other repository is the store's.
/// When an upstream is down, what is cached is served.
public struct MirroringContent: RegistryContent {
    let local: RegistryStore
    /// Longest prefix first, so `ghcr.io/org` wins over `ghcr.io`.
    let upstreams: [Upstream]
    let spoolDirectory: String
    let logger: Logger
    let freshness = TagFreshness()
    let fetches = BlobFetches()
    let manifestFetches = SingleFlight<StoredManifest>()
    let blobSizes = SingleFlight<Int64>()
    let pulls: PullRecorder
    /// How long a reader may hold a fetch back without taking anything (see `BlobFetch.checkStalls`).
    let stallCheck: Duration

    public init(local: RegistryStore, upstreams: [Upstream], spoolDirectory: String = NSTemporaryDirectory(),
                stallCheck: Duration = .seconds(2), logger: Logger = Logger(label: "berth.mirror")) {
        self.local = local
        self.stallCheck = stallCheck
        self.upstreams = upstreams.sorted { $0.prefix.count > $1.prefix.count }
        self.spoolDirectory = spoolDirectory.hasSuffix("/") && spoolDirectory.count > 1 ? String(spoolDirectory.dropLast()) : spoolDirectory
        self.logger = logger
        // Pull records a tenth of the shortest retention apart, at most hourly.
        let shortest = upstreams.map(\.retention).filter { $0 > 0 }.min() ?? 36_000
        pulls = PullRecorder(interval: min(3600, max(1, shortest / 10)))
    }

    public var options: RegistryOptions { local.options }

    /// Closes the upstream connections (when the server stops).
    public func shutdown() async {
        for upstream in upstreams { for client in upstream.clients { try? await client.shutdown() } }
    }

    enum Route {
        case local
        case mirrored(Upstream, RepositoryName)
        /// Under an upstream's prefix but not among the repositories it may mirror.
        case refused(Upstream)
    }

    func route(_ repository: RepositoryName) -> Route {
        for upstream in upstreams {
            guard let name = upstream.upstreamName(of: repository) else { continue }
            guard upstream.allows(name), let upstreamName = try? RepositoryName(name) else { return .refused(upstream) }
            return .mirrored(upstream, upstreamName)
        }
        return .local
    }

    /// The prefixes mirrored ("" for a whole-registry mirror).
    public var mirroredPrefixes: [String] { upstreams.map(\.prefix) }

    /// The upstream a repository is mirrored from, if it is (for listings and the web UI).
    public func upstream(of repository: RepositoryName) -> String? {
        if case .mirrored(let upstream, _) = route(repository) { return upstream.displayName }
        return nil
    }

    func notMirrored(_ repository: RepositoryName, _ upstream: Upstream) -> RegistryError {
        RegistryError(.nameUnknown, message: "\(repository.value) is not among the repositories mirrored from \(upstream.displayName)",
                      detailJSON: RegistryError.detail(["name": repository.value]))
    }

    func requireOwnRepository(_ repository: RepositoryName) throws {
        switch route(repository) {
        case .local: return
        case .mirrored(let upstream, _), .refused(let upstream):
            throw RegistryError(.unsupported, message: "\(repository.value) is a mirror of \(upstream.displayName): pushes are not accepted",
                                detailJSON: RegistryError.detail(["name": repository.value]))
        }
    }

    // MARK: Manifests

    public func manifest(_ repository: RepositoryName, _ reference: Reference) async throws -> StoredManifest {
        switch route(repository) {
        case .local:
            return try await local.manifest(repository, reference)
        case .refused(let upstream):
            throw notMirrored(repository, upstream)
        case .mirrored(let upstream, let name):
            let stored = try await mirroredManifest(repository, reference, upstream, name)
            if upstream.retention > 0 { await pulls.pulled(repository, stored.digest, store: local) }
            return stored
        }
    }

    private func mirroredManifest(_ repository: RepositoryName, _ reference: Reference, _ upstream: Upstream,
                                  _ name: RepositoryName) async throws -> StoredManifest {
        switch reference {
        case .digest(let digest):
            if let cached = try await cachedManifest(repository, reference) { return cached }
            return try await manifestFetches.run("\(repository.value)@\(digest)") {
                try await fetchManifest(repository, upstream, name, digest: digest, tag: nil)
            }
        case .tag(let tag):
            let key = "\(repository.value):\(tag.value)"
            if await freshness.isFresh(key, ttl: upstream.tagTTL), let cached = try await cachedManifest(repository, reference) {
                return cached
            }
            return try await manifestFetches.run(key) {
                try await revalidate(repository, upstream, name, tag: tag, key: key)
            }
        }
    }

    /// The stored manifest, or nil when it is not stored (storage failures still throw).
    private func cachedManifest(_ repository: RepositoryName, _ reference: Reference) async throws -> StoredManifest? {
        do {
            return try await local.manifest(repository, reference)
        } catch let error as RegistryError where error.code == .manifestUnknown {
            return nil
        }
    }

    /// Asks the upstream where the tag points now (a HEAD); fetches the manifest only when
    /// that is not what is cached. An unreachable upstream leaves the cached tag in service.
    private func revalidate(_ repository: RepositoryName, _ upstream: Upstream, _ name: RepositoryName,
                            tag: Tag, key: String) async throws -> StoredManifest {
        let reference = Reference.tag(tag)
        let cached = try await cachedManifest(repository, reference)
        let current: Digest
        do {
            current = try await upstream.attempt { try await $0.resolve(name, reference) }
        } catch {
            let failure = UpstreamFailure(error, upstream: upstream)
            if failure.isUnavailable, let cached {
                logger.warning("upstream unavailable, serving the cached tag", metadata: [
                    "repository": .string(repository.value), "tag": .string(tag.value), "error": .string("\(failure)")])
                return cached
            }
            throw failure.registryError(.manifestUnknown, detail: RegistryError.detail(["name": repository.value, "reference": tag.value]))
        }
        if let cached, cached.digest == current {
            await freshness.markChecked(key)
            return cached
        }
        let stored: StoredManifest
        if let known = try await cachedManifest(repository, .digest(current)) {
            try await local.tagMirroredManifest(repository, tag, current)
            stored = known
        } else {
            stored = try await fetchManifest(repository, upstream, name, digest: current, tag: tag)
        }
        await freshness.markChecked(key)
        return stored
    }

    private func fetchManifest(_ repository: RepositoryName, _ upstream: Upstream, _ name: RepositoryName,
                               digest: Digest, tag: Tag?) async throws -> StoredManifest {
        let fetched: RegistryClient.FetchedManifest
        do {
            // By digest even for a tag: the tag may move again between the HEAD and this GET.
            fetched = try await upstream.attempt { try await $0.manifest(name, .digest(digest)) }
        } catch {
            throw UpstreamFailure(error, upstream: upstream)
                .registryError(.manifestUnknown, detail: RegistryError.detail(["name": repository.value, "reference": (tag?.value ?? digest.description)]))
        }
        logger.info("cached a manifest from the upstream", metadata: [
            "repository": .string(repository.value), "digest": .string(digest.description), "upstream": .string(upstream.displayName)])
        return try await local.storeMirroredManifest(repository, tag: tag, bytes: fetched.bytes, digest: fetched.digest,
                                                     mediaType: fetched.mediaType)
    }

    public func platformManifest(_ repository: RepositoryName, of index: StoredManifest, os: String, architecture: String) async throws -> StoredManifest? {
        if let stored = try await local.platformManifest(repository, of: index, os: os, architecture: architecture) { return stored }
        guard case .mirrored = route(repository), MediaType.isIndex(index.mediaType),
              let parsed = try? Manifest(parsing: index.bytes, contentType: index.mediaType),
              let child = parsed.manifests.first(where: { $0.platform?.os == os && $0.platform?.architecture == architecture }) else {
            return nil
        }
        return try? await manifest(repository, .digest(child.digest))
    }

    public func putManifest(_ repository: RepositoryName, _ reference: Reference, bytes: [UInt8],
                            contentType: String?, tags: [Tag]) async throws -> RegistryStore.PutManifestResult {
        try requireOwnRepository(repository)
        return try await local.putManifest(repository, reference, bytes: bytes, contentType: contentType, tags: tags)
    }

    /// Deleting from a mirror evicts the cached copy; the next pull fetches it again.
    public func deleteManifest(_ repository: RepositoryName, _ reference: Reference) async throws {
        try await local.deleteManifest(repository, reference)
    }

    /// Deleting a mirrored repository evicts everything cached of it.
    public func deleteRepository(_ repository: RepositoryName) async throws -> RegistryStore.DeletedRepository {
        try await local.deleteRepository(repository)
    }

    /// The upstream's referrers while it answers (its referrers API, else the tag schema that
    /// signing tools write on registries without one); what is cached when it does not.
    public func referrers(_ repository: RepositoryName, subject: Digest, artifactType: String?) async throws -> [Descriptor] {
        try await upstreamFirst(repository, cached: { try await local.referrers(repository, subject: subject, artifactType: artifactType) }) { upstream, name in
            let found = try await upstream.attempt { try await $0.referrers(name, subject) }?.manifests ?? []
            return found.filter { artifactType == nil || $0.artifactType == artifactType }
        }
    }

    /// A listing of a mirrored repository: the upstream's while it answers, what is cached
    /// when it cannot be reached. Other repositories' is the store's.
    private func upstreamFirst<T: Sendable>(_ repository: RepositoryName, cached: () async throws -> T,
                                            upstream ask: (Upstream, RepositoryName) async throws -> T) async throws -> T {
        switch route(repository) {
        case .local:
            return try await cached()
        case .refused(let upstream):
            throw notMirrored(repository, upstream)
        case .mirrored(let upstream, let name):
            do {
                return try await ask(upstream, name)
            } catch {
                let failure = UpstreamFailure(error, upstream: upstream)
                if failure.isUnavailable, let cached = try? await cached() { return cached }
                throw failure.registryError(.nameUnknown, detail: RegistryError.detail(["name": repository.value]))
            }
        }
    }

    // MARK: Tags and catalog

    public func catalog(after last: String?, limit: Int) async throws -> (names: [String], more: Bool) {
        try await local.catalog(after: last, limit: limit)
    }

    /// The upstream's tags while it answers; what is cached when it does not.
    public func tags(_ repository: RepositoryName) async throws -> [String] {
        try await upstreamFirst(repository, cached: { try await local.tags(repository) }) { upstream, name in
            try await upstream.attempt { try await $0.tags(name) }.filter(Tag.isValid).sorted()
        }
    }

    public func resolveTag(_ repository: RepositoryName, _ tag: Tag) async throws -> Digest? {
        try await local.resolveTag(repository, tag)
    }

    // MARK: Uploads (only into Berth's own repositories)

    public func startUpload(_ repository: RepositoryName) async throws -> UploadID {
        try requireOwnRepository(repository)
        return try await local.startUpload(repository)
    }

    public func uploadStatus(_ repository: RepositoryName, _ id: UploadID) async throws -> RegistryStore.UploadStatus {
        try await local.uploadStatus(repository, id)
    }

    public func appendUpload<Chunks: AsyncSequence>(_ repository: RepositoryName, _ id: UploadID, at offset: Int64?,
                                                    from chunks: Chunks) async throws -> Int64 where Chunks.Element == ByteBuffer {
        try requireOwnRepository(repository)
        return try await local.appendUpload(repository, id, at: offset, from: chunks)
    }

    public func completeUpload(_ repository: RepositoryName, _ id: UploadID, digest: Digest) async throws -> Int64 {
        try requireOwnRepository(repository)
        return try await local.completeUpload(repository, id, digest: digest)
    }

    public func cancelUpload(_ repository: RepositoryName, _ id: UploadID) async throws {
        try await local.cancelUpload(repository, id)
    }
}
