import Foundation
import OCI

/// Mark-and-sweep of blobs no manifest references, safe to run while the registry serves
/// pushes (Distribution's collector must run with the registry stopped or read-only).
///
/// Why it is safe online:
/// - Only blobs whose data and every repository link are older than `gracePeriod` are
///   candidates, so anything uploaded or mounted during the run (or shortly before) is kept.
/// - An old, unreferenced blob may still be about to be referenced: a client HEADs it, sees
///   it exists and pushes a manifest naming it. The sweep therefore first removes the
///   candidates' repository links (new manifest PUTs naming them now fail validation and the
///   client uploads the blob again), waits `settleTime` for PUTs that validated before that
///   to finish, marks again, restores links of any candidate now referenced or re-uploaded,
///   and only then deletes data.
public struct GarbageCollector: Sendable {
    public struct Options: Sendable {
        public var dryRun = false
        /// Also delete manifests no tag reaches (directly, as an index child or as a
        /// referrer of a kept manifest), once they are older than the grace period.
        public var deleteUntagged = false
        public var gracePeriod: TimeInterval = 3600
        public var settleTime: TimeInterval = 5
        /// The instant ages are measured from; tests move it forward instead of waiting.
        public var now: Date? = nil

        public init(dryRun: Bool = false, deleteUntagged: Bool = false, gracePeriod: TimeInterval = 3600,
                    settleTime: TimeInterval = 5, now: Date? = nil) {
            self.dryRun = dryRun
            self.deleteUntagged = deleteUntagged
            self.gracePeriod = gracePeriod
            self.settleTime = settleTime
            self.now = now
        }
    }

    public struct Report: Sendable, Codable {
        public var repositories = 0
        public var manifestsMarked = 0
        public var blobsMarked = 0
        public var blobsScanned = 0
        /// Blobs kept only because they are younger than the grace period.
        public var blobsTooYoung = 0
        public var deletedManifests: [String] = []
        public var deletedBlobs: [String] = []
        public var bytesFreed: Int64 = 0
        /// Candidates a concurrent push referenced or re-uploaded during the sweep.
        public var rescuedBlobs: [String] = []
        /// Untagged manifests deleted, then put back because an index pushed meanwhile lists them.
        public var rescuedManifests: [String] = []
        public var dryRun = false
    }

    public enum Phase: String, Sendable {
        case markManifests = "marking manifests"
        case scanBlobs = "scanning blobs"
        case sweepBlobs = "deleting blobs"
    }

    public typealias Progress = @Sendable (_ phase: Phase, _ done: Int, _ total: Int?) -> Void

    let store: RegistryStore
    let options: Options

    public init(store: RegistryStore, options: Options = .init()) {
        self.store = store
        self.options = options
    }

    var driver: any StorageDriver { store.driver }

    public func run(progress: Progress? = nil) async throws -> Report {
        let startedAt = options.now ?? Date()
        let cutoff = startedAt.timeIntervalSince1970 - options.gracePeriod
        var report = Report(dryRun: options.dryRun)

        let repositories = try await store.allRepositories()
        report.repositories = repositories.count
        var marked = Set<Digest>()
        var deleted: [DeletedManifest] = []
        for (i, name) in repositories.enumerated() {
            progress?(.markManifests, i, repositories.count)
            guard let repository = try? RepositoryName(name) else { continue }
            let kept = try await keptManifests(repository, cutoff: cutoff, deleted: &deleted, report: &report)
            report.manifestsMarked += kept.count
            for digest in kept { try await mark(digest, into: &marked) }
        }
        progress?(.markManifests, repositories.count, repositories.count)
        report.blobsMarked = marked.count

        var candidates: [Digest: Int64] = [:]
        let links = try await layerLinks(repositories)
        try await forEachBlob { digest, info in
            report.blobsScanned += 1
            progress?(.scanBlobs, report.blobsScanned, nil)
            guard !marked.contains(digest) else { return }
            let newestLink = links[digest]?.map(\.modifiedAt).max() ?? 0
            if max(info.modifiedAt, newestLink) > cutoff {
                report.blobsTooYoung += 1
                return
            }
            candidates[digest] = info.size
        }

        if options.dryRun {
            report.deletedBlobs = candidates.keys.map(\.description).sorted()
            report.bytesFreed = candidates.values.reduce(0, +)
            return report
        }

        for digest in candidates.keys {
            for link in links[digest] ?? [] { try? await driver.delete(link.directory) }
        }
        if options.settleTime > 0 {
            try await Task.sleep(nanoseconds: UInt64(options.settleTime * 1e9))
        }
        try await restoreListedManifests(&deleted, report: &report)
        try await rescue(&candidates, previousLinks: links, report: &report)

        for (i, (digest, size)) in candidates.sorted(by: { $0.key < $1.key }).enumerated() {
            progress?(.sweepBlobs, i, candidates.count)
            guard let directory = Layout.blobData(digest).parent else { continue }
            do {
                try await driver.delete(directory)
                report.deletedBlobs.append(digest.description)
                report.bytesFreed += size
            } catch StorageError.notFound {}
        }
        progress?(.sweepBlobs, candidates.count, candidates.count)
        return report
    }

    /// Manifests of `repository` to keep; with `deleteUntagged`, deletes the others.
    private func keptManifests(_ repository: RepositoryName, cutoff: Double, deleted: inout [DeletedManifest],
                               report: inout Report) async throws -> Set<Digest> {
        let revisions = try await store.revisionDigests(repository)
        guard options.deleteUntagged else { return Set(revisions) }

        var manifests: [Digest: ManifestOutline] = [:]
        var kept = Set<Digest>()
        for digest in revisions {
            manifests[digest] = try await references(of: digest)
            let linkAge = try? await driver.stat(Layout.revisionLink(repository, digest)).modifiedAt
            if (linkAge ?? .infinity) > cutoff { kept.insert(digest) }
        }
        kept.formUnion(try await store.tagTargets(repository).map(\.digest))
        // Children of kept indexes and referrers of kept subjects are kept, to a fixed point.
        var changed = true
        while changed {
            changed = false
            for (digest, manifest) in manifests {
                let reachable = kept.contains(digest)
                    ? manifest.children.filter { !kept.contains($0) }
                    : (manifest.subject.map { kept.contains($0) } == true ? [digest] : [])
                for d in reachable { kept.insert(d); changed = true }
            }
        }

        // A tag or push may have reached a manifest since the tags were read: look once more
        // (anything later is put back by `restoreListedManifests`).
        let taggedNow = options.dryRun ? [] : Set(try await store.tagTargets(repository).map(\.digest))
        for digest in revisions where !kept.contains(digest) {
            if !options.dryRun {
                let fresh = try? await driver.stat(Layout.revisionLink(repository, digest)).modifiedAt
                if (fresh ?? 0) > cutoff || taggedNow.contains(digest) {
                    kept.insert(digest)
                    continue
                }
                try? await driver.delete(Layout.revisionDirectory(repository, digest))
                if let subject = manifests[digest]?.subject,
                   let link = Layout.referrerLink(repository, subject: subject, referrer: digest).parent {
                    try? await driver.delete(link)
                }
                deleted.append(DeletedManifest(repository: repository, digest: digest, subject: manifests[digest]?.subject))
            }
            report.deletedManifests.append("\(repository.value)@\(digest)")
        }
        return kept
    }

    /// Marks a kept manifest's own blob and every blob it references.
    private func mark(_ digest: Digest, into marked: inout Set<Digest>) async throws {
        guard marked.insert(digest).inserted else { return }
        guard let references = try await references(of: digest) else { return }
        // A foreign layer someone pushed anyway is kept with the manifest that lists it.
        for blob in references.blobs + references.foreignBlobs { marked.insert(blob) }
        // Index children are marked with their blobs so a child kept only through its index
        // stays complete.
        for child in references.children { try await mark(child, into: &marked) }
    }

    /// What a stored manifest references, or nil when its revision is dangling (its bytes
    /// are gone). A manifest that cannot be read stops the run rather than risk sweeping
    /// blobs it may reference.
    private func references(of digest: Digest) async throws -> ManifestOutline? {
        guard let stored = try await store.loadManifest(digest) else { return nil }
        do {
            return try ManifestOutline(stored: stored.bytes)
        } catch {
            throw GarbageCollectionError.unreadableManifest(digest)
        }
    }

    struct LayerLink: Sendable {
        var directory: StoragePath
        var repository: RepositoryName
        var modifiedAt: Double
    }

    /// Every `_layers` link of every repository, by blob.
    private func layerLinks(_ repositories: [String]) async throws -> [Digest: [LayerLink]] {
        var result: [Digest: [LayerLink]] = [:]
        for name in repositories {
            guard let repository = try? RepositoryName(name) else { continue }
            for digest in try await driver.layerDigests(repository) {
                let link = Layout.layerLink(repository, digest)
                let modified = (try? await driver.stat(link).modifiedAt) ?? 0
                result[digest, default: []].append(LayerLink(directory: link.parent ?? link, repository: repository, modifiedAt: modified))
            }
        }
        return result
    }

    private func forEachBlob(_ body: (Digest, StorageFileInfo) async throws -> Void) async throws {
        for digest in try await driver.blobDigests() {
            guard let info = try? await driver.stat(Layout.blobData(digest)) else { continue }
            try await body(digest, info)
        }
    }

    struct DeletedManifest {
        var repository: RepositoryName
        var digest: Digest
        var subject: Digest?
    }

    /// After the settle step: an index pushed, or a tag set, while untagged manifests were
    /// being deleted may point at one of them (its push validated before the delete). Such
    /// manifests get their revision back, and their blobs are then kept by `rescue`.
    private func restoreListedManifests(_ deleted: inout [DeletedManifest], report: inout Report) async throws {
        var restoredAny = true
        while restoredAny, !deleted.isEmpty {
            restoredAny = false
            for repository in Set(deleted.map(\.repository)) {
                var listed = Set<Digest>()
                for digest in try await store.revisionDigests(repository) {
                    if let references = try await references(of: digest) { listed.formUnion(references.children) }
                }
                listed.formUnion(try await store.tagTargets(repository).map(\.digest))
                for entry in deleted where entry.repository == repository && listed.contains(entry.digest) {
                    try await store.writeLink(Layout.revisionLink(repository, entry.digest), entry.digest)
                    if let subject = entry.subject {
                        try await store.writeLink(Layout.referrerLink(repository, subject: subject, referrer: entry.digest), entry.digest)
                    }
                    let name = "\(repository.value)@\(entry.digest)"
                    report.deletedManifests.removeAll { $0 == name }
                    report.rescuedManifests.append(name)
                    restoredAny = true
                }
                deleted.removeAll { $0.repository == repository && listed.contains($0.digest) }
            }
        }
    }

    /// After the unlink and settle steps: keeps candidates that a manifest written meanwhile
    /// references (restoring the links it had) or that a repository linked again.
    private func rescue(_ candidates: inout [Digest: Int64], previousLinks: [Digest: [LayerLink]],
                        report: inout Report) async throws {
        var referenced = Set<Digest>()
        let current = try await store.allRepositories()
        for name in current {
            guard let repository = try? RepositoryName(name) else { continue }
            for digest in try await store.revisionDigests(repository) {
                try await mark(digest, into: &referenced)
            }
        }
        let relinked = try await layerLinks(current)
        for digest in Array(candidates.keys) where referenced.contains(digest) || relinked[digest] != nil {
            candidates.removeValue(forKey: digest)
            report.rescuedBlobs.append(digest.description)
            for link in previousLinks[digest] ?? [] {
                try? await store.writeLink(Layout.layerLink(link.repository, digest), digest)
            }
        }
    }
}

public enum GarbageCollectionError: Error, CustomStringConvertible {
    case unreadableManifest(Digest)

    public var description: String {
        switch self {
        case .unreadableManifest(let digest):
            return "manifest \(digest) is not readable JSON; nothing was deleted (remove or repair it first)"
        }
    }
}
