import Foundation
import Logging
import NIOCore
import OCI

/// The registry's content model (repositories, blobs, uploads, manifests, tags, referrers)
/// on top of any `StorageDriver`, in Distribution's layout. Everything the HTTP layer needs
/// and nothing about HTTP.
public final class RegistryStore: Sendable {
    public let driver: any StorageDriver
    public let options: RegistryOptions
    /// Where blob GETs are sent instead of served here (the driver's presigned URLs, a CDN).
    public let redirect: any BlobRedirect
    let logger: Logger
    let manifestCache = ManifestCache()
    let repositoryIndex: RepositoryIndex
    let referrersBackfill = ReferrersBackfill()
    let uploadHashes = UploadHashCache()
    let linkCache = LinkCache()

    public init(driver: any StorageDriver, options: RegistryOptions = .init(), redirect: any BlobRedirect = DriverRedirect(),
                logger: Logger = Logger(label: "berth.storage")) {
        self.driver = driver
        self.options = options
        self.redirect = redirect
        self.logger = logger
        repositoryIndex = RepositoryIndex(driver: driver)
    }

    func requireWritable() throws(RegistryError) {
        if options.readOnly {
            throw RegistryError(.unsupported, message: "the registry is in read-only mode")
        }
    }

    func requireDeletable() throws(RegistryError) {
        try requireWritable()
        guard options.deleteEnabled else {
            throw RegistryError(.unsupported, message: "deletes are disabled on this registry")
        }
    }

    /// Reads a `link` file and parses the digest it holds, through the short-lived cache.
    func readLink(_ path: StoragePath) async throws -> Digest? {
        if let cached = await linkCache.lookup(path) { return cached }
        let digest = try await readLinkUncached(path)
        await linkCache.store(path, digest)
        return digest
    }

    func readLinkUncached(_ path: StoragePath) async throws -> Digest? {
        do {
            let text = String(decoding: try await driver.getContent(path, maxSize: 512), as: UTF8.self)
            return try? Digest(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch StorageError.notFound {
            return nil
        }
    }

    func writeLink(_ path: StoragePath, _ digest: Digest) async throws {
        try await driver.putContent(path, Array(digest.description.utf8))
        await linkCache.invalidate(path)
    }

    /// For readiness probes: the storage answers, and the layout's root is a directory.
    public func checkReadable() async throws {
        _ = try await driver.list(.root)
        if let info = try? await driver.stat(Layout.repositories), !info.isDirectory {
            throw StorageError.io("\(Layout.repositories) is not a directory")
        }
        _ = try await driver.listIfPresent(Layout.repositories)
    }

    /// A repository is a directory with content of its own: only the parent of a nested
    /// repository (`team/app` of `team/app/cache`, after `team/app` was deleted) is none.
    public func repositoryExists(_ name: RepositoryName) async throws -> Bool {
        try await driver.listIfPresent(Layout.repository(name)).contains { Self.ownEntries.contains($0) }
    }

    static let ownEntries = ["_manifests", "_layers", "_uploads"]

    // MARK: Blobs

    /// Size of a blob linked into `repository`, or BLOB_UNKNOWN.
    public func blobSize(_ repository: RepositoryName, _ digest: Digest) async throws -> Int64 {
        guard try await driver.exists(Layout.layerLink(repository, digest)) else {
            throw RegistryError(.blobUnknown, detailJSON: RegistryError.detail(["digest": digest.description]))
        }
        do {
            return try await driver.stat(Layout.blobData(digest)).size
        } catch StorageError.notFound {
            throw RegistryError(.blobUnknown, detailJSON: RegistryError.detail(["digest": digest.description]))
        }
    }

    public func readBlob(_ digest: Digest, range: Range<Int64>?,
                         into consumer: (ByteBuffer) async throws -> Void) async throws {
        try await driver.read(Layout.blobData(digest), range: range, into: consumer)
    }

    /// Where a client can fetch the blob itself (a presigned URL), or nil to stream it here.
    public func blobRedirectURL(_ digest: Digest) async throws -> String? {
        guard options.redirectBlobs else { return nil }
        return try await redirect.redirectURL(Layout.blobData(digest), method: "GET", driver: driver)
    }

    /// Unlinks a blob from a repository; the data stays until garbage collection.
    public func deleteBlob(_ repository: RepositoryName, _ digest: Digest) async throws {
        try requireDeletable()
        guard try await driver.exists(Layout.layerLink(repository, digest)) else {
            throw RegistryError(.blobUnknown, detailJSON: RegistryError.detail(["digest": digest.description]))
        }
        guard let parent = Layout.layerLink(repository, digest).parent else { return }
        do { try await driver.delete(parent) } catch StorageError.notFound {}
    }

    /// Links a blob that `source` already has into `repository`; nil when `source` lacks it.
    public func mountBlob(_ repository: RepositoryName, from source: RepositoryName, _ digest: Digest) async throws -> Int64? {
        try requireWritable()
        guard let size = try? await blobSize(source, digest) else { return nil }
        try await writeLink(Layout.layerLink(repository, digest), digest)
        try await repositoryIndex.insert(repository)
        return size
    }

    // MARK: Catalog and tags

    /// Every repository in the layout, read afresh (not from the catalog index).
    public func allRepositories() async throws -> [String] {
        try await RepositoryIndex.walk(driver: driver).sorted()
    }

    /// The repositories named `namespace` or below it, read afresh from that part of the layout.
    public func repositories(inNamespace namespace: String) async throws -> [String] {
        guard RepositoryName.isValidComponent(namespace) else { return [] }
        return try await RepositoryIndex.walk(driver: driver, namespace: namespace).sorted()
    }

    public func catalog(after last: String?, limit: Int) async throws -> (names: [String], more: Bool) {
        try await repositoryIndex.page(after: last, limit: limit)
    }

    /// Tags of a repository in lexical order, or NAME_UNKNOWN.
    public func tags(_ repository: RepositoryName) async throws -> [String] {
        do {
            return try await driver.list(Layout.tags(repository)).filter(Tag.isValid)
        } catch StorageError.notFound {
            guard try await repositoryExists(repository) else {
                throw RegistryError(.nameUnknown, detailJSON: RegistryError.detail(["name": repository.value]))
            }
            return []
        }
    }
}

extension RegistryStore {
    static let secretPath = BerthLayout.httpSecret

    /// A random secret kept in the storage itself, created on first use.
    public func sharedSecret() async throws -> [UInt8] {
        if let existing = try? await driver.getContent(Self.secretPath, maxSize: 1024), existing.count >= 32 {
            return existing
        }
        var generator = SystemRandomNumberGenerator()
        let secret = Array((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }.map { String(format: "%02x", $0) }.joined().utf8)
        // Replicas starting at once: the first write wins and everyone reads it.
        if try await driver.createContent(Self.secretPath, secret, privately: true) { return secret }
        return try await driver.getContent(Self.secretPath, maxSize: 1024)
    }
}

