import NIOCore
import OCI

/// The content the registry API serves, with the repository policies asked before each change
/// they may refuse (and before a manifest is served): one decorator, so no HTTP handler, web
/// page or mirror knows about policies, and every way in (API, web UI, a replica) obeys them.
public struct PolicedContent: RegistryContent {
    public let inner: any RegistryContent
    public let source: any RepositoryPolicySource
    /// Tag changes of one repository, one at a time where a policy looks at them: two pushes
    /// racing to an immutable tag cannot both see it free (within this process).
    let tagChanges: KeyedLocks

    /// `tagChangePatience`: how long a tag change waits for the one ahead of it before it goes
    /// on unserialised (a stalled client may hold the lock).
    public init(_ inner: any RegistryContent, policies source: any RepositoryPolicySource, tagChangePatience: Duration = .seconds(30)) {
        self.inner = inner
        self.source = source
        tagChanges = KeyedLocks(patience: tagChangePatience)
    }

    public var options: RegistryOptions { inner.options }
    public var mirroredPrefixes: [String] { inner.mirroredPrefixes }
    public func upstream(of repository: RepositoryName) -> String? { inner.upstream(of: repository) }

    // MARK: hooks

    public func putManifest(_ repository: RepositoryName, _ reference: Reference, bytes: [UInt8], contentType: String?,
                            tags: [Tag]) async throws -> RegistryStore.PutManifestResult {
        let policies = try await source.policies()
        let named = if case .tag(let tag) = reference, !tags.contains(tag) { [tag] + tags } else { tags }
        guard !policies.isEmpty else {
            return try await inner.putManifest(repository, reference, bytes: bytes, contentType: contentType, tags: tags)
        }
        let digest: Digest
        if case .digest(let given) = reference { digest = given } else { digest = Digest.compute(bytes) }
        let inner = self.inner
        let put: @Sendable () async throws -> RegistryStore.PutManifestResult = {
            for policy in policies { try await policy.beforeManifestPut(repository, digest: digest, tags: named, content: inner) }
            return try await inner.putManifest(repository, reference, bytes: bytes, contentType: contentType, tags: tags)
        }
        let serialised = !named.isEmpty && policies.contains { $0.decidesOnCurrentTags }
        let result = serialised ? try await tagChanges.withLock(repository.description, put) : try await put()
        await tell(policies, .linked(repository, result.digest, size: Int64(bytes.count)))
        return result
    }

    public func deleteManifest(_ repository: RepositoryName, _ reference: Reference) async throws {
        let policies = try await source.policies()
        for policy in policies { try await policy.beforeManifestDelete(repository, reference, content: inner) }
        try await inner.deleteManifest(repository, reference)
        await tell(policies, .deleted(repository))
    }

    public func deleteRepository(_ repository: RepositoryName) async throws -> RegistryStore.DeletedRepository {
        let policies = try await source.policies()
        for policy in policies { try await policy.beforeRepositoryDelete(repository, content: inner) }
        let deleted = try await inner.deleteRepository(repository)
        await tell(policies, .deleted(repository))
        return deleted
    }

    public func completeUpload(_ repository: RepositoryName, _ id: UploadID, digest: Digest) async throws -> Int64 {
        let policies = try await source.policies()
        if !policies.isEmpty {
            let size = try await inner.uploadStatus(repository, id).size
            for policy in policies { try await policy.beforeUploadComplete(repository, digest: digest, size: size, content: inner) }
        }
        let size = try await inner.completeUpload(repository, id, digest: digest)
        await tell(policies, .linked(repository, digest, size: size))
        return size
    }

    public func startUpload(_ repository: RepositoryName) async throws -> UploadID {
        for policy in try await source.policies() { try await policy.beforeUploadStart(repository, content: inner) }
        return try await inner.startUpload(repository)
    }

    private func tell(_ policies: [any RepositoryPolicy], _ change: ContentChange) async {
        for policy in policies { await policy.after(change) }
    }

    public func manifest(_ repository: RepositoryName, _ reference: Reference) async throws -> StoredManifest {
        let manifest = try await inner.manifest(repository, reference)
        let policies = try await source.policies()
        for policy in policies { try await policy.beforeManifestRead(repository, manifest, content: inner) }
        if case .tag(let tag) = reference, !policies.isEmpty { await tell(policies, .pulled(repository, tag)) }
        return manifest
    }

    /// Read hooks are about content handed out; a HEAD hands out none.
    public func manifestHead(_ repository: RepositoryName, _ reference: Reference) async throws -> StoredManifest {
        try await inner.manifestHead(repository, reference)
    }

    // MARK: handed on

    public func blobSize(_ repository: RepositoryName, _ digest: Digest) async throws -> Int64 { try await inner.blobSize(repository, digest) }
    public func prepareBlobRead(_ repository: RepositoryName, _ digest: Digest) async throws { try await inner.prepareBlobRead(repository, digest) }
    public func readBlobBuffers(_ repository: RepositoryName, _ digest: Digest, range: Range<Int64>?,
                                into consumer: ([ByteBuffer]) async throws -> Void) async throws {
        try await inner.readBlobBuffers(repository, digest, range: range, into: consumer)
    }
    public func blobRedirectURL(_ repository: RepositoryName, _ digest: Digest) async throws -> String? {
        try await inner.blobRedirectURL(repository, digest)
    }
    public func deleteBlob(_ repository: RepositoryName, _ digest: Digest) async throws {
        let policies = try await source.policies()
        for policy in policies { try await policy.beforeBlobDelete(repository, digest: digest, content: inner) }
        try await inner.deleteBlob(repository, digest)
        await tell(policies, .deleted(repository))
    }
    public func mountBlob(_ repository: RepositoryName, from origin: RepositoryName, _ digest: Digest) async throws -> Int64? {
        let policies = try await source.policies()
        for policy in policies { try await policy.beforeBlobMount(repository, from: origin, digest: digest, content: inner) }
        let size = try await inner.mountBlob(repository, from: origin, digest)
        if let size { await tell(policies, .linked(repository, digest, size: size)) }
        return size
    }
    public func catalog(after last: String?, limit: Int) async throws -> (names: [String], more: Bool) {
        try await inner.catalog(after: last, limit: limit)
    }
    public func tags(_ repository: RepositoryName) async throws -> [String] { try await inner.tags(repository) }
    public func resolveTag(_ repository: RepositoryName, _ tag: Tag) async throws -> Digest? { try await inner.resolveTag(repository, tag) }
    public func platformManifest(_ repository: RepositoryName, of index: StoredManifest, os: String,
                                 architecture: String) async throws -> StoredManifest? {
        try await inner.platformManifest(repository, of: index, os: os, architecture: architecture)
    }
    public func referrers(_ repository: RepositoryName, subject: Digest, artifactType: String?) async throws -> [Descriptor] {
        try await inner.referrers(repository, subject: subject, artifactType: artifactType)
    }
    public func uploadStatus(_ repository: RepositoryName, _ id: UploadID) async throws -> RegistryStore.UploadStatus {
        try await inner.uploadStatus(repository, id)
    }
    public func appendUpload<Chunks: AsyncSequence>(_ repository: RepositoryName, _ id: UploadID, at offset: Int64?,
                                                    from chunks: Chunks) async throws -> Int64 where Chunks.Element == ByteBuffer {
        try await inner.appendUpload(repository, id, at: offset, from: chunks)
    }
    public func cancelUpload(_ repository: RepositoryName, _ id: UploadID) async throws { try await inner.cancelUpload(repository, id) }
}
