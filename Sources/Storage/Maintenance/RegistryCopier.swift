import Foundation
import NIOCore
import OCI

/// Copies a registry from one storage to another in Distribution's layout: what
/// `berth backup` and `berth restore` do. Safe while the source is serving:
/// - blobs are copied first, each verified against its digest while streaming and moved
///   into place only when complete;
/// - then each repository's manifests, copied only once every blob and child they reference
///   is in the destination (copied on demand if it arrived during the run), then layer
///   links, then tags pointing at copied manifests; so the copy never references a missing
///   blob, whatever is pushed or deleted meanwhile.
/// Blobs the destination already holds are skipped (they are content-addressed), so a
/// second backup into the same place copies only what is new.
public struct RegistryCopier: Sendable {
    public struct Report: Sendable, Codable {
        public var repositories = 0
        public var blobsCopied = 0
        public var blobsPresent = 0
        public var bytesCopied: Int64 = 0
        public var manifests = 0
        public var tags = 0
        public var layerLinks = 0
        public var accountFiles = 0
        /// Repositories with nothing to copy (no manifests, layer links or tags: left behind by
        /// deletes or by an upload never finished); they do not exist in the copy.
        public var emptyRepositories: [String] = []
        /// Things left out, each with the reason (e.g. a manifest deleted during the run).
        public var skipped: [String] = []
    }

    public enum Phase: String, Sendable {
        case blobs = "copying blobs"
        case repositories = "copying repositories"
    }

    public typealias Progress = @Sendable (_ phase: Phase, _ done: Int, _ total: Int?) -> Void

    let source: any StorageDriver
    let sourceStore: RegistryStore
    let destination: any StorageDriver
    /// The accounts database and its journal: the caller copies the database with SQLite's
    /// own consistent copy instead.
    static let copiedByCaller = BerthLayout.accountsDatabaseFiles
    static let window: Int64 = 4 << 20
    static let staging = BerthLayout.copyInProgress

    public init(from source: any StorageDriver, to destination: any StorageDriver) {
        self.source = source
        sourceStore = RegistryStore(driver: source)
        self.destination = destination
    }

    public func run(progress: Progress? = nil) async throws -> Report {
        // Partial blobs of an interrupted earlier run.
        try? await destination.delete(Self.staging)
        var report = Report()
        var copied = Set<Digest>()

        let blobs = try await source.blobDigests()
        for (i, digest) in blobs.enumerated() {
            progress?(.blobs, i, blobs.count)
            _ = try await ensureBlob(digest, copied: &copied, report: &report)
        }
        progress?(.blobs, blobs.count, blobs.count)

        let repositories = try await sourceStore.allRepositories()
        report.repositories = repositories.count
        for (i, name) in repositories.enumerated() {
            progress?(.repositories, i, repositories.count)
            guard let repository = try? RepositoryName(name) else { continue }
            let before = (report.manifests, report.layerLinks, report.tags)
            try await copyRepository(repository, copied: &copied, report: &report)
            if (report.manifests, report.layerLinks, report.tags) == before { report.emptyRepositories.append(name) }
        }
        progress?(.repositories, repositories.count, repositories.count)
        try await copyState(&report)
        // Its blobs are all committed; an empty staging directory would look like a copy cut short.
        try? await destination.delete(Self.staging)
        return report
    }

    /// Makes sure the destination holds `digest`; false when the source no longer has it.
    private func ensureBlob(_ digest: Digest, copied: inout Set<Digest>, report: inout Report) async throws -> Bool {
        if copied.contains(digest) { return true }
        let target = Layout.blobData(digest)
        if try await destination.exists(target) {
            copied.insert(digest)
            report.blobsPresent += 1
            return true
        }
        let size: Int64
        do {
            size = try await source.stat(target).size
        } catch StorageError.notFound {
            return false
        }
        let staging = try Self.staging.appending(UUID().uuidString)
        let writer = try await destination.writer(staging, at: 0)
        do {
            var hasher = DigestHasher(algorithm: digest.algorithm)
            var offset: Int64 = 0
            while offset < size {
                var window: [ByteBuffer] = []
                try await source.read(target, range: offset..<min(offset + Self.window, size)) { window.append($0) }
                guard !window.isEmpty else { break }
                offset = try await writer.write(BufferSequence(buffers: window)) { chunk in
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                }
            }
            guard offset == size, hasher.finalize() == digest else {
                throw CopyError.corruptBlob(digest)
            }
            try await writer.commit(to: target)
        } catch {
            try? await writer.cancel()
            throw error
        }
        copied.insert(digest)
        report.blobsCopied += 1
        report.bytesCopied += size
        return true
    }

    private func copyRepository(_ repository: RepositoryName, copied: inout Set<Digest>, report: inout Report) async throws {
        var manifests: [Digest: ManifestOutline] = [:]
        for digest in try await sourceStore.revisionDigests(repository) {
            guard try await sourceStore.readLinkUncached(Layout.revisionLink(repository, digest)) == digest,
                  try await ensureBlob(digest, copied: &copied, report: &report) else {
                report.skipped.append("\(repository.value)@\(digest): deleted during the copy")
                continue
            }
            let bytes = try await destination.getContent(Layout.blobData(digest), maxSize: 16 << 20)
            guard let references = try? ManifestOutline(stored: bytes) else {
                report.skipped.append("\(repository.value)@\(digest): not a readable manifest")
                continue
            }
            manifests[digest] = references
        }
        // Manifests before the indexes that list them: a pass writes every manifest whose
        // children are written, until a pass makes no progress.
        var written = Set<Digest>()
        var pending = manifests
        var progressed = true
        while progressed, !pending.isEmpty {
            progressed = false
            for (digest, references) in pending.sorted(by: { $0.key < $1.key }) where references.children.allSatisfy(written.contains) {
                pending.removeValue(forKey: digest)
                progressed = true
                var complete = true, linked = true
                for blob in references.blobs {
                    if !(try await ensureBlob(blob, copied: &copied, report: &report)) { complete = false }
                    // A registry serves a repository's blobs only where they are linked: an image
                    // a mirror has cached in part (its manifest, not yet every layer) would be a
                    // tag no registry can serve from the copy.
                    else if !(try await source.exists(Layout.layerLink(repository, blob))) { linked = false }
                }
                guard complete else {
                    report.skipped.append("\(repository.value)@\(digest): references blobs that are gone from the source")
                    continue
                }
                guard linked else {
                    report.skipped.append("\(repository.value)@\(digest): references blobs not linked in the repository (an image a mirror cached in part)")
                    continue
                }
                // Foreign layers come from their URLs; one that was pushed anyway goes along.
                for blob in references.foreignBlobs where try await source.exists(Layout.layerLink(repository, blob)) {
                    _ = try await ensureBlob(blob, copied: &copied, report: &report)
                }
                try await destination.putContent(Layout.revisionLink(repository, digest), Array(digest.description.utf8))
                if let subject = references.subject {
                    try await destination.putContent(Layout.referrerLink(repository, subject: subject, referrer: digest), Array(digest.description.utf8))
                }
                written.insert(digest)
                report.manifests += 1
            }
        }
        for digest in pending.keys.sorted() {
            report.skipped.append("\(repository.value)@\(digest): lists manifests that are gone from the source")
        }

        for digest in try await source.layerDigests(repository) where try await ensureBlob(digest, copied: &copied, report: &report) {
            try await destination.putContent(Layout.layerLink(repository, digest), Array(digest.description.utf8))
            report.layerLinks += 1
        }

        for (tag, digest) in try await sourceStore.tagTargets(repository) {
            guard written.contains(digest) else {
                report.skipped.append("\(repository.value):\(tag.value): its manifest was not copied")
                continue
            }
            try await destination.putContent(Layout.tagIndexLink(repository, tag, digest), Array(digest.description.utf8))
            try await destination.putContent(Layout.tagCurrentLink(repository, tag), Array(digest.description.utf8))
            report.tags += 1
        }
    }

    /// Accounts, keys and secrets, readable by the owner only at the destination too.
    private func copyState(_ report: inout Report) async throws {
        let berth = BerthLayout.root
        var files = BerthLayout.keptFiles
        for path in BerthLayout.keptDirectories {
            for name in try await source.listIfPresent(path) { files.append(try path.appending(name)) }
        }
        // The accounts database is copied by the caller with the database's own consistent
        // copy (a file copy of a live SQLite database with its journal may not be).
        for file in files where file.hasPrefix(berth) && !Self.copiedByCaller.contains(file.components.last ?? "") {
            guard let content = try? await source.getContent(file, maxSize: 1 << 20) else { continue }
            try await destination.putPrivateContent(file, content)
            report.accountFiles += 1
        }
    }
}

public enum CopyError: Error, CustomStringConvertible {
    case corruptBlob(Digest)

    public var description: String {
        switch self {
        case .corruptBlob(let digest): "blob \(digest) does not match its digest; nothing was written for it"
        }
    }
}

/// A few buffers already in memory, as the async sequence `append` takes.
struct BufferSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffers: [ByteBuffer]

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        mutating func next() async -> ByteBuffer? { remaining.popFirst() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: buffers[...]) }
}
