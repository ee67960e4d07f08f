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

    public init(local: RegistryStore, upstreams: [Upstream], spoolDirectory: String = NSTemporaryDirectory(),
                logger: Logger = Logger(label: "berth.mirror")) {
        self.local = local
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
    public var prefixes: [String] { upstreams.map(\.prefix) }

    /// The upstream a repository is mirrored from, if it is (for listings and the web UI).
    public func upstream(of repository: RepositoryName) -> String? {
        if case .mirrored(let upstream, _) = route(repository) { return upstream.displayName }
        return nil
    }

    private func notMirrored(_ repository: RepositoryName, _ upstream: Upstream) -> RegistryError {
        RegistryError(.nameUnknown, message: "\(repository.value) is not among the repositories mirrored from \(upstream.displayName)",
                      detailJSON: RegistryError.detail(["name": repository.value]))
    }

    private func requireOwnRepository(_ repository: RepositoryName) throws {
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

    /// Evicts cached manifests (and their tags) nobody pulled within their upstream's
    /// retention; returns `repository@digest` of each. Their blobs go with the next gc.
    public func evictUnpulled(now: Date = Date()) async throws -> [String] {
        var evicted: [String] = []
        var last: String?
        while true {
            let page = try await local.catalog(after: last, limit: 1000)
            for text in page.names {
                guard let repository = try? RepositoryName(text), case .mirrored(let upstream, _) = route(repository),
                      upstream.retention > 0 else { continue }
                for digest in try await local.revisionDigests(repository) {
                    let pulled = try await local.lastMirrorPull(repository, digest)
                    guard pulled.map({ now.timeIntervalSince($0) > upstream.retention }) ?? true else { continue }
                    try await local.evictMirroredManifest(repository, digest)
                    evicted.append("\(repository.value)@\(digest)")
                }
            }
            guard page.more, let next = page.names.last else { break }
            last = next
        }
        if !evicted.isEmpty {
            logger.info("evicted cached manifests nobody pulled within the retention", metadata: ["count": .stringConvertible(evicted.count)])
        }
        return evicted
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
                            contentType: String?) async throws -> RegistryStore.PutManifestResult {
        try requireOwnRepository(repository)
        return try await local.putManifest(repository, reference, bytes: bytes, contentType: contentType)
    }

    /// Deleting from a mirror evicts the cached copy; the next pull fetches it again.
    public func deleteManifest(_ repository: RepositoryName, _ reference: Reference) async throws {
        try await local.deleteManifest(repository, reference)
    }

    public func referrers(_ repository: RepositoryName, subject: Digest, artifactType: String?) async throws -> [Descriptor] {
        try await local.referrers(repository, subject: subject, artifactType: artifactType)
    }

    // MARK: Tags and catalog

    public func catalog(after last: String?, limit: Int) async throws -> (names: [String], more: Bool) {
        try await local.catalog(after: last, limit: limit)
    }

    /// The upstream's tags while it answers; what is cached when it does not.
    public func tags(_ repository: RepositoryName) async throws -> [String] {
        switch route(repository) {
        case .local:
            return try await local.tags(repository)
        case .refused(let upstream):
            throw notMirrored(repository, upstream)
        case .mirrored(let upstream, let name):
            do {
                return try await upstream.attempt { try await $0.tags(name) }.filter(Tag.isValid).sorted()
            } catch {
                let failure = UpstreamFailure(error, upstream: upstream)
                if failure.isUnavailable, let cached = try? await local.tags(repository) { return cached }
                throw failure.registryError(.nameUnknown, detail: RegistryError.detail(["name": repository.value]))
            }
        }
    }

    public func resolveTag(_ repository: RepositoryName, _ tag: Tag) async throws -> Digest? {
        try await local.resolveTag(repository, tag)
    }

    // MARK: Blobs

    public func blobSize(_ repository: RepositoryName, _ digest: Digest) async throws -> Int64 {
        switch route(repository) {
        case .local:
            return try await local.blobSize(repository, digest)
        case .refused(let upstream):
            throw notMirrored(repository, upstream)
        case .mirrored(let upstream, let name):
            if try await local.hasBlob(repository, digest) { return try await local.blobSize(repository, digest) }
            // Being fetched: the upstream has said how big it is.
            if let fetch = await fetches.existing("\(repository.value)@\(digest)"), let size = await fetch.announcedSize { return size }
            let size: Int64
            do {
                // Sixteen clients pulling one image ask once.
                size = try await blobSizes.run("\(repository.value)@\(digest)") { try await upstream.attempt { try await $0.blobSize(name, digest) } }
            } catch {
                throw UpstreamFailure(error, upstream: upstream).registryError(.blobUnknown, detail: RegistryError.detail(["digest": digest.description]))
            }
            // Stored already for another repository: the upstream has just confirmed that
            // this one holds it too, so linking it gives nothing away.
            if let stored = try await local.linkStoredBlob(repository, digest), stored == size { return stored }
            return size
        }
    }

    public func readBlob(_ repository: RepositoryName, _ digest: Digest, range: Range<Int64>?,
                         into consumer: (ByteBuffer) async throws -> Void) async throws {
        guard case .mirrored(let upstream, let name) = route(repository), !(try await local.hasBlob(repository, digest)) else {
            return try await local.readBlob(digest, range: range, into: consumer)
        }
        try await follow(try await joinFetch(repository, upstream, name, digest), digest: digest, range: range, into: consumer)
    }

    public func prepareBlobRead(_ repository: RepositoryName, _ digest: Digest) async throws {
        guard case .mirrored(let upstream, let name) = route(repository), !(try await local.hasBlob(repository, digest)) else { return }
        try await joinFetch(repository, upstream, name, digest).started()
    }

    /// The fetch of this blob in flight, started when there is none.
    private func joinFetch(_ repository: RepositoryName, _ upstream: Upstream, _ name: RepositoryName,
                           _ digest: Digest) async throws -> BlobFetch {
        let local = self.local, logger = self.logger, directory = spoolDirectory
        return try await fetches.join("\(repository.value)@\(digest)", makeSpool: { try Spool(directory: directory) }) { fetch in
            await Self.fetchBlob(fetch, local: local, repository, upstream, name, digest, logger: logger)
        }
    }

    /// Streams `range` of a blob being fetched as it arrives.
    private func follow(_ fetch: BlobFetch, digest: Digest, range: Range<Int64>?,
                        into consumer: (ByteBuffer) async throws -> Void) async throws {
        var position = range?.lowerBound ?? 0
        let end = range?.upperBound
        while end.map({ position < $0 }) ?? true {
            let (limit, stored) = try await fetch.readable(beyond: position)
            let upTo = min(limit, end ?? limit)
            guard let spool = fetch.spool else {
                // Stored before this fetch began: the store has it all.
                if position < upTo { try await local.readBlob(digest, range: position..<upTo, into: consumer) }
                return
            }
            while position < upTo {
                let count = Int(min(upTo - position, 1 << 20))
                try await consumer(try await spool.read(at: position, count: count))
                position += Int64(count)
            }
            if stored, end == nil || position >= limit { return }
        }
    }

    /// Upstream → spool and storage, verified against the digest before it is stored.
    static func fetchBlob(_ fetch: BlobFetch, local: RegistryStore, _ repository: RepositoryName, _ upstream: Upstream,
                          _ name: RepositoryName, _ digest: Digest, logger: Logger) async {
        if (try? await local.hasBlob(repository, digest)) == true, let size = try? await local.blobSize(repository, digest) {
            // Stored between the reader's check and this fetch's start.
            await fetch.finish(.stored(size: size))
            return
        }
        guard let spool = fetch.spool else { return await fetch.finish(.failed(RegistryError(.unavailable))) }
        var upload: UploadID?
        do {
            let stream: RegistryClient.BlobStream
            do {
                stream = try await upstream.attempt { try await $0.openBlob(name, digest) }
            } catch {
                throw UpstreamFailure(error, upstream: upstream).registryError(.blobUnknown, detail: RegistryError.detail(["digest": digest.description]))
            }
            await fetch.upstreamResponded(size: stream.size)
            let id = try await local.startUpload(repository)
            upload = id
            let body = SpoolingBody(base: stream.body, spool: spool, fetch: fetch, expectedSize: stream.size)
            let written = try await local.appendUpload(repository, id, at: 0, from: body)
            if let expected = stream.size, written != expected {
                throw RegistryError(.unavailable, message: "the upstream sent \(written) of the \(expected) bytes it announced")
            }
            _ = try await local.completeUpload(repository, id, digest: digest)
            logger.info("cached a blob from the upstream", metadata: [
                "repository": .string(repository.value), "digest": .string(digest.description), "size": .stringConvertible(written)])
            await fetch.finish(.stored(size: written))
        } catch {
            logger.error("fetching a blob from the upstream failed", metadata: [
                "repository": .string(repository.value), "digest": .string(digest.description), "error": .string("\(error)")])
            if let upload { try? await local.cancelUpload(repository, upload) }
            await fetch.finish(.failed(error))
        }
    }

    public func blobRedirectURL(_ repository: RepositoryName, _ digest: Digest) async throws -> String? {
        if case .mirrored = route(repository), !(try await local.hasBlob(repository, digest)) { return nil }
        return try await local.blobRedirectURL(digest)
    }

    public func deleteBlob(_ repository: RepositoryName, _ digest: Digest) async throws {
        try await local.deleteBlob(repository, digest)
    }

    public func mountBlob(_ repository: RepositoryName, from source: RepositoryName, _ digest: Digest) async throws -> Int64? {
        try requireOwnRepository(repository)
        return try await local.mountBlob(repository, from: source, digest)
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
