import NIOCore
import OCI

/// What the registry API reads and writes: repositories, blobs, uploads, manifests, tags and
/// referrers. `RegistryStore` is the content kept in storage; a decorator (the pull-through
/// mirror) can answer some repositories from elsewhere and hand the rest on.
public protocol RegistryContent: Sendable {
    var options: RegistryOptions { get }

    func blobSize(_ repository: RepositoryName, _ digest: Digest) async throws -> Int64
    /// Called before a blob GET's response is begun: whatever could still fail before the
    /// first byte (an upstream refusing the fetch) fails here, as an error response.
    func prepareBlobRead(_ repository: RepositoryName, _ digest: Digest) async throws
    /// Streams `range` of a blob, several buffers at once where they come that way (a mirror's
    /// fetch holds the upstream's pieces as they arrived, 64 KiB each): a client's connection
    /// then writes them in one go rather than one trip to its event loop each.
    func readBlobBuffers(_ repository: RepositoryName, _ digest: Digest, range: Range<Int64>?,
                         into consumer: ([ByteBuffer]) async throws -> Void) async throws
    /// Where a client can fetch the blob itself (a presigned URL), or nil to stream it here.
    func blobRedirectURL(_ repository: RepositoryName, _ digest: Digest) async throws -> String?
    func deleteBlob(_ repository: RepositoryName, _ digest: Digest) async throws
    func mountBlob(_ repository: RepositoryName, from source: RepositoryName, _ digest: Digest) async throws -> Int64?

    func catalog(after last: String?, limit: Int) async throws -> (names: [String], more: Bool)
    func tags(_ repository: RepositoryName) async throws -> [String]
    func resolveTag(_ repository: RepositoryName, _ tag: Tag) async throws -> Digest?

    func manifest(_ repository: RepositoryName, _ reference: Reference) async throws -> StoredManifest
    func platformManifest(_ repository: RepositoryName, of index: StoredManifest, os: String, architecture: String) async throws -> StoredManifest?
    /// Stores a manifest pushed under `reference` and points `reference`'s tag, if it is
    /// one, and every one of `tags` at it (the spec's `?tag=` on a push by digest).
    func putManifest(_ repository: RepositoryName, _ reference: Reference, bytes: [UInt8],
                     contentType: String?, tags: [Tag]) async throws -> RegistryStore.PutManifestResult
    func deleteManifest(_ repository: RepositoryName, _ reference: Reference) async throws
    /// Removes the repository's tags, manifests, layer links and uploads (Berth's extension).
    func deleteRepository(_ repository: RepositoryName) async throws -> RegistryStore.DeletedRepository
    func referrers(_ repository: RepositoryName, subject: Digest, artifactType: String?) async throws -> [Descriptor]

    func startUpload(_ repository: RepositoryName) async throws -> UploadID
    func uploadStatus(_ repository: RepositoryName, _ id: UploadID) async throws -> RegistryStore.UploadStatus
    func appendUpload<Chunks: AsyncSequence>(_ repository: RepositoryName, _ id: UploadID, at offset: Int64?,
                                             from chunks: Chunks) async throws -> Int64 where Chunks.Element == ByteBuffer
    func completeUpload(_ repository: RepositoryName, _ id: UploadID, digest: Digest) async throws -> Int64
    func cancelUpload(_ repository: RepositoryName, _ id: UploadID) async throws

    /// Repository-name prefixes answered from other registries ("" for all of them).
    var mirroredPrefixes: [String] { get }
    /// The registry a repository is mirrored from, if it is.
    func upstream(of repository: RepositoryName) -> String?
    /// A manifest for a HEAD request: its digest, type and size are answered, never its
    /// content (a signature policy lets a signer learn the digest of what it signs).
    func manifestHead(_ repository: RepositoryName, _ reference: Reference) async throws -> StoredManifest
}

extension RegistryContent {
    public func prepareBlobRead(_ repository: RepositoryName, _ digest: Digest) async throws {}
    public var mirroredPrefixes: [String] { [] }
    public func upstream(of repository: RepositoryName) -> String? { nil }
    public func manifestHead(_ repository: RepositoryName, _ reference: Reference) async throws -> StoredManifest {
        try await manifest(repository, reference)
    }

    public func putManifest(_ repository: RepositoryName, _ reference: Reference, bytes: [UInt8],
                            contentType: String?) async throws -> RegistryStore.PutManifestResult {
        try await putManifest(repository, reference, bytes: bytes, contentType: contentType, tags: [])
    }
}

extension RegistryContent {
    /// `readBlobBuffers` a buffer at a time.
    public func readBlob(_ repository: RepositoryName, _ digest: Digest, range: Range<Int64>?,
                         into consumer: (ByteBuffer) async throws -> Void) async throws {
        try await readBlobBuffers(repository, digest, range: range) { buffers in
            for buffer in buffers { try await consumer(buffer) }
        }
    }
}

extension RegistryStore: RegistryContent {
    public func readBlobBuffers(_ repository: RepositoryName, _ digest: Digest, range: Range<Int64>?,
                                into consumer: ([ByteBuffer]) async throws -> Void) async throws {
        try await readBlob(digest, range: range) { try await consumer([$0]) }
    }

    public func blobRedirectURL(_ repository: RepositoryName, _ digest: Digest) async throws -> String? {
        try await blobRedirectURL(digest)
    }
}
