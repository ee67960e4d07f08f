import OCI

extension RegistryStore {
    /// What a repository delete removed.
    public struct DeletedRepository: Sendable, Equatable {
        public var tags: [String]
        public var manifests: [Digest]
    }

    /// Removes a repository: its tags, manifests, layer links and unfinished uploads; it
    /// leaves the catalog. Blobs stay until garbage collection, as after any delete, and
    /// repositories nested under its name (`team/app/cache` under `team/app`) are kept.
    public func deleteRepository(_ repository: RepositoryName) async throws -> DeletedRepository {
        try requireDeletable()
        let root = Layout.repository(repository)
        let own = Self.ownEntries
        let children = try await driver.listIfPresent(root)
        guard children.contains(where: own.contains) else {
            throw RegistryError(.nameUnknown, detailJSON: RegistryError.detail(["name": repository.value]))
        }
        let tags = ((try? await tagTargets(repository)) ?? []).map(\.tag.value).sorted()
        let manifests = try await manifestDigests(repository)
        for child in own where children.contains(child) {
            do { try await driver.delete(try root.appending(child)) } catch StorageError.notFound {}
        }
        await linkCache.invalidate(repository: root)
        try await repositoryIndex.remove(repository)
        if (try? await driver.listIfPresent(root))?.isEmpty == true {
            try? await driver.delete(root)
        }
        return DeletedRepository(tags: tags, manifests: manifests)
    }

    /// Every manifest stored in the repository, tagged or not.
    func manifestDigests(_ repository: RepositoryName) async throws -> [Digest] {
        var digests: [Digest] = []
        for algorithm in try await driver.listIfPresent(Layout.revisions(repository)) {
            for hex in try await driver.listIfPresent(try Layout.revisions(repository).appending(algorithm)) {
                if let digest = try? Digest(parsing: "\(algorithm):\(hex)") { digests.append(digest) }
            }
        }
        return digests.sorted { $0.description < $1.description }
    }
}
