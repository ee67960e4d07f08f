import Foundation
import OCI

/// Figures for the web UI's repository list and storage page, read from the layout.
extension RegistryStore {
    /// How much storage a repository's blobs take: how many it links and their sizes added up
    /// (a blob shared with other repositories counts in each), read from the layout.
    public func usage(_ repository: RepositoryName) async throws -> (blobs: Int, bytes: Int64) {
        var blobs = 0, bytes: Int64 = 0
        for digest in try await driver.layerDigests(repository) {
            guard let size = try? await driver.stat(Layout.blobData(digest)).size else { continue }
            blobs += 1
            bytes += size
        }
        for digest in try await revisionDigests(repository) {
            guard let size = try? await driver.stat(Layout.blobData(digest)).size else { continue }
            bytes += size
        }
        return (blobs, bytes)
    }
}

extension RegistryStore {
    /// About when a repository last received a manifest or a new tag: the newer modification
    /// time of its revisions and tags directories (two stats, not one per tag). Nil where the
    /// storage has no directory times (object stores).
    public func lastPush(_ repository: RepositoryName) async -> Date? {
        let revisions = StoragePath(unchecked: Layout.revisions(repository).components + ["sha256"])
        var newest: Double = 0
        for path in [revisions, Layout.tags(repository)] {
            if let info = try? await driver.stat(path), info.modifiedAt > newest { newest = info.modifiedAt }
        }
        return newest > 0 ? Date(timeIntervalSince1970: newest) : nil
    }
}

extension RegistryStore {
    /// Every blob a repository links (layers, configs, manifests) whose data is present, with its size.
    public func linkedBlobSizes(_ repository: RepositoryName) async throws -> [(Digest, Int64)] {
        var result: [(Digest, Int64)] = []
        for digest in try await driver.layerDigests(repository) + revisionDigests(repository) {
            guard let size = try? await driver.stat(Layout.blobData(digest)).size else { continue }
            result.append((digest, size))
        }
        return result
    }
}
