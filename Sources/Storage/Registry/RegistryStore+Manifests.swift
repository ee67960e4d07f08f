import Foundation
import OCI

extension RegistryStore {
    /// The digest a tag currently points at, or nil.
    public func resolveTag(_ repository: RepositoryName, _ tag: Tag) async throws -> Digest? {
        try await readLink(Layout.tagCurrentLink(repository, tag))
    }

    /// Every tag of a repository with the digest it points at, read from the layout (not the
    /// link cache), for work that must see other processes' writes.
    public func tagTargets(_ repository: RepositoryName) async throws -> [(tag: Tag, digest: Digest)] {
        var result: [(tag: Tag, digest: Digest)] = []
        for name in try await driver.listIfPresent(Layout.tags(repository)) {
            guard let tag = try? Tag(name), let digest = try await readLinkUncached(Layout.tagCurrentLink(repository, tag)) else { continue }
            result.append((tag, digest))
        }
        return result
    }

    /// Fetches a manifest by tag or digest, or MANIFEST_UNKNOWN.
    public func manifest(_ repository: RepositoryName, _ reference: Reference) async throws -> StoredManifest {
        // Built only when needed: this is every manifest GET's path.
        func unknown() -> RegistryError {
            RegistryError(.manifestUnknown, detailJSON: RegistryError.detail(["name": repository.value, "reference": reference.description]))
        }
        let digest: Digest
        switch reference {
        case .digest(let d): digest = d
        case .tag(let t):
            guard let d = try await resolveTag(repository, t) else { throw unknown() }
            digest = d
        }
        guard try await readLink(Layout.revisionLink(repository, digest)) == digest else { throw unknown() }
        guard let manifest = try await loadManifest(digest) else { throw unknown() }
        return manifest
    }

    /// The child of a manifest list for one platform, from the same repository.
    public func platformManifest(_ repository: RepositoryName, of index: StoredManifest, os: String, architecture: String) async throws -> StoredManifest? {
        guard MediaType.isIndex(index.mediaType), let parsed = try? Manifest(parsing: index.bytes, contentType: index.mediaType),
              let child = parsed.manifests.first(where: { $0.platform?.os == os && $0.platform?.architecture == architecture }) else {
            return nil
        }
        return try? await manifest(repository, .digest(child.digest))
    }

    /// Reads a manifest's bytes by digest from the blob store, through the cache.
    func loadManifest(_ digest: Digest) async throws -> StoredManifest? {
        if let cached = await manifestCache.get(digest) { return cached }
        let bytes: [UInt8]
        do {
            bytes = try await driver.getContent(Layout.blobData(digest), maxSize: max(options.maxManifestSize, Manifest.maxSize))
        } catch StorageError.notFound {
            return nil
        }
        let stored = StoredManifest(bytes: bytes, digest: digest)
        await manifestCache.put(stored)
        return stored
    }

    public struct PutManifestResult: Sendable {
        public var digest: Digest
        public var subject: Digest?
        public var manifest: Manifest
        public var size: Int64
    }

    /// Validates and stores a manifest pushed under `reference`, then tags it with
    /// `reference`'s tag and `tags`.
    public func putManifest(_ repository: RepositoryName, _ reference: Reference, bytes: [UInt8],
                            contentType: String?, tags: [Tag]) async throws -> PutManifestResult {
        try requireWritable()
        guard bytes.count <= options.maxManifestSize else {
            throw RegistryError(.manifestInvalid, message: "manifest too large: limit is \(options.maxManifestSize) bytes", status: 413)
        }
        let digest = Digest.compute(bytes, algorithm: reference.digest?.algorithm ?? .sha256)
        if let expected = reference.digest, expected != digest {
            throw RegistryError(.digestInvalid, message: "manifest digest does not match the digest in the URL",
                                detailJSON: RegistryError.detail(["expected": expected.description, "actual": digest.description]))
        }
        let manifest = try Manifest(parsing: bytes, contentType: contentType)
        try await validateReferences(of: manifest, in: repository)

        // Content first, then the links that make it reachable: a crash in between leaves
        // only unreferenced data for garbage collection, never a dangling link.
        if !(try await driver.exists(Layout.blobData(digest))) {
            try await driver.putContent(Layout.blobData(digest), bytes)
        }
        let revisionExisted = try await driver.exists(Layout.revisionLink(repository, digest))
        if let subject = manifest.subject?.digest {
            try await writeLink(Layout.referrerLink(repository, subject: subject, referrer: digest), digest)
        }
        try await writeLink(Layout.revisionLink(repository, digest), digest)
        // `berth gc` in another process unlinks what it is about to collect, then looks for
        // manifests written meanwhile. Checking again after the revision is written closes
        // the gap: either the collector sees this manifest and keeps its content, or this
        // push sees the content going and withdraws (the client uploads it again).
        if let missing = try await firstMissingReference(of: manifest, in: repository) {
            if !revisionExisted {
                try? await driver.delete(Layout.revisionDirectory(repository, digest))
                if let subject = manifest.subject?.digest, let link = Layout.referrerLink(repository, subject: subject, referrer: digest).parent {
                    try? await driver.delete(link)
                }
                await linkCache.invalidate(repository: Layout.repository(repository))
            }
            throw RegistryError(.manifestBlobUnknown, message: "blob unknown to registry: \(missing)",
                                detailJSON: RegistryError.detail(["digest": missing.description]))
        }
        var tagged: Set<Tag> = []
        for tag in [reference.tag].compactMap({ $0 }) + tags where tagged.insert(tag).inserted {
            try await writeLink(Layout.tagIndexLink(repository, tag, digest), digest)
            try await writeLink(Layout.tagCurrentLink(repository, tag), digest)
        }
        try await repositoryIndex.insert(repository)
        let stored = StoredManifest(bytes: bytes, digest: digest, manifest: manifest)
        await manifestCache.put(stored)
        return PutManifestResult(digest: digest, subject: manifest.subject?.digest, manifest: manifest, size: Int64(bytes.count))
    }

    private func validateReferences(of manifest: Manifest, in repository: RepositoryName) async throws {
        if let missing = try await firstMissingReference(of: manifest, in: repository) {
            throw RegistryError(.manifestBlobUnknown, message: "blob unknown to registry: \(missing)",
                                detailJSON: RegistryError.detail(["digest": missing.description]))
        }
    }

    private func firstMissingReference(of manifest: Manifest, in repository: RepositoryName) async throws -> Digest? {
        for blob in manifest.referencedBlobs {
            // Non-distributable (foreign) layers are fetched from their URLs by clients, so
            // they may be absent here (Windows base images, the conformance suite).
            if ManifestOutline.isForeign(blob.mediaType, urls: blob.urls), let urls = blob.urls,
               urls.allSatisfy(options.layerURLPolicy.permits) { continue }
            // Only blobs linked into this repository count: knowing a digest pushed elsewhere
            // must not be a way to obtain it.
            if (try? await blobSize(repository, blob.digest)) == nil { return blob.digest }
        }
        if options.requireIndexChildren {
            for child in manifest.manifests where !(try await driver.exists(Layout.revisionLink(repository, child.digest))) {
                return child.digest
            }
        }
        return nil
    }

    /// Deletes a tag (untag) or a manifest revision and every tag pointing at it.
    public func deleteManifest(_ repository: RepositoryName, _ reference: Reference) async throws {
        try requireDeletable()
        do {
            try await removeManifest(repository, reference)
        } catch {
            await linkCache.invalidate(repository: Layout.repository(repository))
            throw error
        }
        await linkCache.invalidate(repository: Layout.repository(repository))
    }

    private func removeManifest(_ repository: RepositoryName, _ reference: Reference) async throws {
        let unknown = RegistryError(.manifestUnknown, detailJSON: RegistryError.detail(["name": repository.value, "reference": reference.description]))
        switch reference {
        case .tag(let tag):
            guard try await driver.exists(Layout.tag(repository, tag)) else { throw unknown }
            try await driver.delete(Layout.tag(repository, tag))
        case .digest(let digest):
            guard try await driver.exists(Layout.revisionLink(repository, digest)) else { throw unknown }
            for (tag, target) in try await tagTargets(repository) where target == digest {
                try? await driver.delete(Layout.tag(repository, tag))
            }
            let subject = try? await loadManifest(digest)?.subject
            try await driver.delete(Layout.revisionDirectory(repository, digest))
            if let subject, let link = Layout.referrerLink(repository, subject: subject, referrer: digest).parent {
                try? await driver.delete(link)
            }
        }
    }

    /// Manifests in `repository` whose subject is `subject`, optionally of one artifact type.
    /// Entries whose revision is gone (deleted by another process) are skipped.
    public func referrers(_ repository: RepositoryName, subject: Digest, artifactType: String?) async throws -> [Descriptor] {
        if await referrersBackfill.needsBackfill(repository) {
            for digest in try await revisionDigests(repository) {
                guard let stored = try await loadManifest(digest), let s = stored.subject else { continue }
                let link = Layout.referrerLink(repository, subject: s, referrer: digest)
                if !(try await driver.exists(link)) { try await writeLink(link, digest) }
            }
            await referrersBackfill.markDone(repository)
        }
        var result: [Descriptor] = []
        let directory = Layout.referrers(repository, subject: subject)
        for algorithm in try await driver.listIfPresent(directory) {
            guard let alg = DigestAlgorithm(rawValue: algorithm) else { continue }
            for hex in try await driver.listIfPresent(try directory.appending(algorithm)) {
                guard let digest = try? Digest(algorithm: alg, hex: hex),
                      try await driver.exists(Layout.revisionLink(repository, digest)),
                      let stored = try await loadManifest(digest) else { continue }
                let descriptor = stored.referrerDescriptor
                if let artifactType, descriptor.artifactType != artifactType { continue }
                result.append(descriptor)
            }
        }
        return result.sorted { $0.digest < $1.digest }
    }

    /// Every manifest digest linked in a repository.
    public func revisionDigests(_ repository: RepositoryName) async throws -> [Digest] {
        var out: [Digest] = []
        for algorithm in try await driver.listIfPresent(Layout.revisions(repository)) {
            guard let alg = DigestAlgorithm(rawValue: algorithm) else { continue }
            for hex in try await driver.listIfPresent(try Layout.revisions(repository).appending(algorithm)) {
                if let d = try? Digest(algorithm: alg, hex: hex) { out.append(d) }
            }
        }
        return out
    }
}
