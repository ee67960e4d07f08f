import Foundation
import NIOCore
import OCI

/// What a pull-through mirror stores: content fetched from an upstream registry, kept in the
/// same layout as pushed content (so gc, backups and `berth ls` see it), but stored without a
/// push's rule that every referenced blob be present: a mirror fetches each blob on demand.
extension RegistryStore {
    /// Stores a manifest fetched from an upstream (already checked against its digest), and
    /// points `tag` at it when given.
    public func storeMirroredManifest(_ repository: RepositoryName, tag: Tag?, bytes: [UInt8], digest: Digest,
                                      mediaType: String?) async throws -> StoredManifest {
        let manifest = try Manifest(parsing: bytes, contentType: mediaType)
        // Content before links, as a push does: a crash leaves only unreferenced data.
        if !(try await driver.exists(Layout.blobData(digest))) {
            try await driver.putContent(Layout.blobData(digest), bytes)
        }
        if let subject = manifest.subject?.digest {
            try await writeLink(Layout.referrerLink(repository, subject: subject, referrer: digest), digest)
        }
        try await writeLink(Layout.revisionLink(repository, digest), digest)
        if let tag { try await tagMirroredManifest(repository, tag, digest) }
        try await repositoryIndex.insert(repository)
        let stored = StoredManifest(bytes: bytes, digest: digest, manifest: manifest)
        await manifestCache.put(stored)
        return stored
    }

    /// Points `tag` at a manifest already stored in `repository` (the upstream moved the tag).
    public func tagMirroredManifest(_ repository: RepositoryName, _ tag: Tag, _ digest: Digest) async throws {
        try await writeLink(Layout.tagIndexLink(repository, tag, digest), digest)
        try await writeLink(Layout.tagCurrentLink(repository, tag), digest)
    }

    /// Links a blob whose data is already stored into `repository` and returns its size, or
    /// nil when the data is not here. Only for a blob the upstream has confirmed it holds in
    /// that repository: knowing a digest must not be a way to read someone else's blob.
    public func linkStoredBlob(_ repository: RepositoryName, _ digest: Digest) async throws -> Int64? {
        let size: Int64
        do {
            size = try await driver.stat(Layout.blobData(digest)).size
        } catch StorageError.notFound {
            return nil
        }
        try await writeLink(Layout.layerLink(repository, digest), digest)
        try await repositoryIndex.insert(repository)
        return size
    }

    /// True when `repository` links the blob (without reading its size).
    public func hasBlob(_ repository: RepositoryName, _ digest: Digest) async throws -> Bool {
        try await driver.exists(Layout.layerLink(repository, digest))
    }
}

extension RegistryStore {
    /// Notes that a tag was pulled (its manifest GET by tag) at `time`, for retention's
    /// "pulled within".
    public func recordTagPull(_ repository: RepositoryName, _ tag: Tag, at time: Date = Date()) async throws {
        try await driver.putContent(try BerthLayout.tagPulls(repository).appending(tag.value), Array(String(Int(time.timeIntervalSince1970)).utf8))
    }

    /// When each tag of a repository was last pulled, as recorded (one listing, a read per tag).
    public func tagPulls(_ repository: RepositoryName) async throws -> [String: Date] {
        let directory = BerthLayout.tagPulls(repository)
        var pulls: [String: Date] = [:]
        for name in try await driver.listIfPresent(directory) where Tag.isValid(name) {
            if let bytes = try? await driver.getContent(try directory.appending(name), maxSize: 64),
               let seconds = Double(String(decoding: bytes, as: UTF8.self)) {
                pulls[name] = Date(timeIntervalSince1970: seconds)
            }
        }
        return pulls
    }

    /// Notes that a mirrored manifest was pulled now, for retention.
    public func recordMirrorPull(_ repository: RepositoryName, _ digest: Digest, at time: Date = Date()) async throws {
        try await driver.putContent(BerthLayout.mirrorPulled(repository, digest), Array(String(Int(time.timeIntervalSince1970)).utf8))
    }

    /// When a mirrored manifest was last pulled: its record, else when it was cached.
    public func lastMirrorPull(_ repository: RepositoryName, _ digest: Digest) async throws -> Date? {
        if let bytes = try? await driver.getContent(BerthLayout.mirrorPulled(repository, digest), maxSize: 64),
           let seconds = Double(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) {
            return Date(timeIntervalSince1970: seconds)
        }
        guard let info = try? await driver.stat(Layout.revisionLink(repository, digest)) else { return nil }
        return Date(timeIntervalSince1970: info.modifiedAt)
    }

    /// Removes a cached manifest and the tags on it (whatever `storage.delete` says: the
    /// cache's own eviction is not a client's delete); garbage collection frees the blobs.
    public func evictMirroredManifest(_ repository: RepositoryName, _ digest: Digest) async throws {
        for (tag, target) in try await tagTargets(repository) where target == digest {
            try? await driver.delete(Layout.tag(repository, tag))
        }
        let subject = try? await loadManifest(digest)?.subject
        do { try await driver.delete(Layout.revisionDirectory(repository, digest)) } catch StorageError.notFound {}
        if let subject, let link = Layout.referrerLink(repository, subject: subject, referrer: digest).parent {
            try? await driver.delete(link)
        }
        try? await driver.delete(BerthLayout.mirrorPulled(repository, digest))
        await linkCache.invalidate(repository: Layout.repository(repository))
    }

    /// Whether an upload's bytes can be read while it is still being written (a local disk),
    /// so that a mirror's readers can follow a fetch in the upload itself.
    public var readsUnfinishedUploads: Bool { driver.readsUnfinishedWrites }

    /// How many bytes of an unfinished upload are written and readable.
    public func unfinishedUploadSize(_ repository: RepositoryName, _ id: UploadID) async throws -> Int64 {
        do {
            return try await driver.writtenSize(Layout.uploadData(repository, id))
        } catch StorageError.notFound {
            throw RegistryError(.blobUploadUnknown)
        }
    }

    /// Streams `range` of an unfinished upload; `BLOB_UPLOAD_UNKNOWN` once it was committed
    /// or cancelled.
    public func readUnfinishedUpload(_ repository: RepositoryName, _ id: UploadID, range: Range<Int64>,
                                     into consumer: (ByteBuffer) async throws -> Void) async throws {
        do {
            try await driver.read(Layout.uploadData(repository, id), range: range, into: consumer)
        } catch StorageError.notFound {
            throw RegistryError(.blobUploadUnknown)
        }
    }
}
