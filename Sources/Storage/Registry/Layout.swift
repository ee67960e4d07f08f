import OCI

/// Distribution's on-disk layout (`registry/storage/paths.go`), so Berth and `registry:2`
/// can share one data directory.
public enum Layout {
    static let v2 = StoragePath(unchecked: ["docker", "registry", "v2"])
    public static let repositories = StoragePath(unchecked: v2.components + ["repositories"])
    public static let blobs = StoragePath(unchecked: v2.components + ["blobs"])

    // Every component below comes from a validated RepositoryName, Tag, Digest or upload id,
    // so the unchecked initialiser cannot produce a path outside the root.

    public static func blobData(_ d: Digest) -> StoragePath {
        StoragePath(unchecked: blobs.components + [d.algorithm.rawValue, String(d.hex.prefix(2)), d.hex, "data"])
    }

    public static func repository(_ name: RepositoryName) -> StoragePath {
        StoragePath(unchecked: repositories.components + name.components.map(String.init))
    }

    public static func layerLink(_ name: RepositoryName, _ d: Digest) -> StoragePath {
        StoragePath(unchecked: repository(name).components + ["_layers", d.algorithm.rawValue, d.hex, "link"])
    }

    public static func revisions(_ name: RepositoryName) -> StoragePath {
        StoragePath(unchecked: repository(name).components + ["_manifests", "revisions"])
    }

    public static func revisionLink(_ name: RepositoryName, _ d: Digest) -> StoragePath {
        StoragePath(unchecked: revisions(name).components + [d.algorithm.rawValue, d.hex, "link"])
    }

    public static func revisionDirectory(_ name: RepositoryName, _ d: Digest) -> StoragePath {
        StoragePath(unchecked: revisions(name).components + [d.algorithm.rawValue, d.hex])
    }

    public static func tags(_ name: RepositoryName) -> StoragePath {
        StoragePath(unchecked: repository(name).components + ["_manifests", "tags"])
    }

    public static func tag(_ name: RepositoryName, _ tag: Tag) -> StoragePath {
        StoragePath(unchecked: tags(name).components + [tag.value])
    }

    public static func tagCurrentLink(_ name: RepositoryName, _ tag: Tag) -> StoragePath {
        StoragePath(unchecked: self.tag(name, tag).components + ["current", "link"])
    }

    public static func tagIndexLink(_ name: RepositoryName, _ tag: Tag, _ d: Digest) -> StoragePath {
        StoragePath(unchecked: self.tag(name, tag).components + ["index", d.algorithm.rawValue, d.hex, "link"])
    }

    /// Berth's referrers index, kept inside the repository so every replica sharing the
    /// storage sees it. Distribution skips `_`-prefixed directories it does not know.
    public static func referrers(_ name: RepositoryName, subject: Digest) -> StoragePath {
        StoragePath(unchecked: repository(name).components + ["_referrers", subject.algorithm.rawValue, subject.hex])
    }

    public static func referrerLink(_ name: RepositoryName, subject: Digest, referrer: Digest) -> StoragePath {
        StoragePath(unchecked: referrers(name, subject: subject).components + [referrer.algorithm.rawValue, referrer.hex, "link"])
    }

    public static func uploads(_ name: RepositoryName) -> StoragePath {
        StoragePath(unchecked: repository(name).components + ["_uploads"])
    }

    public static func upload(_ name: RepositoryName, _ id: UploadID) -> StoragePath {
        StoragePath(unchecked: uploads(name).components + [id.value])
    }

    public static func uploadData(_ name: RepositoryName, _ id: UploadID) -> StoragePath {
        StoragePath(unchecked: upload(name, id).components + ["data"])
    }

    public static func uploadStartedAt(_ name: RepositoryName, _ id: UploadID) -> StoragePath {
        StoragePath(unchecked: upload(name, id).components + ["startedat"])
    }

    /// The sha256 state after `offset` bytes, where Distribution keeps it.
    public static func uploadHashState(_ name: RepositoryName, _ id: UploadID, offset: Int64) -> StoragePath {
        StoragePath(unchecked: upload(name, id).components + ["hashstates", "sha256", String(offset)])
    }
}

extension StorageDriver {
    /// Every digest in the blob store (`blobs/<algorithm>/<xx>/<hex>`).
    func blobDigests() async throws -> [Digest] {
        var result: [Digest] = []
        for algorithm in try await listIfPresent(Layout.blobs) {
            guard let alg = DigestAlgorithm(rawValue: algorithm) else { continue }
            let algDir = try Layout.blobs.appending(algorithm)
            for prefix in try await listIfPresent(algDir) {
                for hex in try await listIfPresent(try algDir.appending(prefix)) {
                    if let digest = try? Digest(algorithm: alg, hex: hex) { result.append(digest) }
                }
            }
        }
        return result
    }

    /// The blobs linked into a repository (`_layers/<algorithm>/<hex>`).
    func layerDigests(_ repository: RepositoryName) async throws -> [Digest] {
        let layers = StoragePath(unchecked: Layout.repository(repository).components + ["_layers"])
        var result: [Digest] = []
        for algorithm in try await listIfPresent(layers) {
            guard let alg = DigestAlgorithm(rawValue: algorithm) else { continue }
            for hex in try await listIfPresent(try layers.appending(algorithm)) {
                if let digest = try? Digest(algorithm: alg, hex: hex) { result.append(digest) }
            }
        }
        return result
    }
}
