import Client
import Foundation
import Logging
import NIOCore
import OCI
import Storage

/// Blobs of mirrored repositories: linked when stored, else fetched once and followed.
extension MirroringContent {
    public func blobSize(_ repository: RepositoryName, _ digest: Digest) async throws -> Int64 {
        switch route(repository) {
        case .local:
            return try await local.blobSize(repository, digest)
        case .refused(let upstream):
            throw notMirrored(repository, upstream)
        case .mirrored(let upstream, let name):
            do {
                return try await local.blobSize(repository, digest)
            } catch let error as RegistryError where error.code == .blobUnknown {}
            let key = Self.key(repository, digest)
            // Being fetched: the upstream has said how big it is.
            if let fetch = await fetches.existing(key), let size = await fetch.announcedSize { return size }
            let size: Int64
            do {
                // Sixteen clients pulling one image ask once.
                size = try await blobSizes.run(key) { try await upstream.attempt { try await $0.blobSize(name, digest) } }
            } catch {
                throw UpstreamFailure(error, upstream: upstream).registryError(.blobUnknown, detail: RegistryError.detail(["digest": digest.description]))
            }
            // Stored already for another repository: the upstream has just confirmed that
            // this one holds it too, so linking it gives nothing away.
            if let stored = try await local.linkStoredBlob(repository, digest), stored == size { return stored }
            return size
        }
    }

    public func readBlob(_ repository: RepositoryName, _ digest: Digest, range: Range<Int64>?,
                         into consumer: (ByteBuffer) async throws -> Void) async throws {
        guard case .mirrored(let upstream, let name) = route(repository), !(try await local.hasBlob(repository, digest)) else {
            return try await local.readBlob(digest, range: range, into: consumer)
        }
        try await follow(try await joinFetch(repository, upstream, name, digest), digest: digest, range: range, into: consumer)
    }

    public func prepareBlobRead(_ repository: RepositoryName, _ digest: Digest) async throws {
        guard case .mirrored(let upstream, let name) = route(repository), !(try await local.hasBlob(repository, digest)) else { return }
        try await joinFetch(repository, upstream, name, digest).started()
    }

    /// What concurrent work on one blob of one repository is shared by.
    static func key(_ repository: RepositoryName, _ digest: Digest) -> String { "\(repository.value)@\(digest)" }

    /// The fetch of this blob in flight, started when there is none.
    private func joinFetch(_ repository: RepositoryName, _ upstream: Upstream, _ name: RepositoryName,
                           _ digest: Digest) async throws -> BlobFetch {
        let local = self.local, logger = self.logger, directory = spoolDirectory
        return try await fetches.join(Self.key(repository, digest), makeSpool: { try Spool(directory: directory) }) { fetch in
            await Self.fetchBlob(fetch, local: local, repository, upstream, name, digest, logger: logger)
        }
    }

    /// Streams `range` of a blob being fetched as it arrives.
    private func follow(_ fetch: BlobFetch, digest: Digest, range: Range<Int64>?,
                        into consumer: (ByteBuffer) async throws -> Void) async throws {
        var position = range?.lowerBound ?? 0
        let end = range?.upperBound
        while end.map({ position < $0 }) ?? true {
            let (limit, stored) = try await fetch.readable(beyond: position)
            let upTo = min(limit, end ?? limit)
            guard let spool = fetch.spool else {
                // Stored before this fetch began: the store has it all.
                if position < upTo { try await local.readBlob(digest, range: position..<upTo, into: consumer) }
                return
            }
            while position < upTo {
                let count = Int(min(upTo - position, 1 << 20))
                try await consumer(try await spool.read(at: position, count: count))
                position += Int64(count)
            }
            if stored, end == nil || position >= limit { return }
        }
    }

    /// Upstream → spool and storage, verified against the digest before it is stored.
    static func fetchBlob(_ fetch: BlobFetch, local: RegistryStore, _ repository: RepositoryName, _ upstream: Upstream,
                          _ name: RepositoryName, _ digest: Digest, logger: Logger) async {
        if (try? await local.hasBlob(repository, digest)) == true, let size = try? await local.blobSize(repository, digest) {
            // Stored between the reader's check and this fetch's start.
            await fetch.finish(.stored(size: size))
            return
        }
        guard let spool = fetch.spool else { return await fetch.finish(.failed(RegistryError(.unavailable))) }
        var upload: UploadID?
        do {
            let stream: RegistryClient.BlobStream
            do {
                stream = try await upstream.attempt { try await $0.openBlob(name, digest) }
            } catch {
                throw UpstreamFailure(error, upstream: upstream).registryError(.blobUnknown, detail: RegistryError.detail(["digest": digest.description]))
            }
            await fetch.upstreamResponded(size: stream.size)
            let id = try await local.startUpload(repository)
            upload = id
            let body = SpoolingBody(base: stream.body, spool: spool, fetch: fetch, expectedSize: stream.size)
            let written = try await local.appendUpload(repository, id, at: 0, from: body)
            if let expected = stream.size, written != expected {
                throw RegistryError(.unavailable, message: "the upstream sent \(written) of the \(expected) bytes it announced")
            }
            _ = try await local.completeUpload(repository, id, digest: digest)
            logger.info("cached a blob from the upstream", metadata: [
                "repository": .string(repository.value), "digest": .string(digest.description), "size": .stringConvertible(written)])
            await fetch.finish(.stored(size: written))
        } catch {
            logger.error("fetching a blob from the upstream failed", metadata: [
                "repository": .string(repository.value), "digest": .string(digest.description), "error": .string("\(error)")])
            if let upload { try? await local.cancelUpload(repository, upload) }
            await fetch.finish(.failed(error))
        }
    }

    public func blobRedirectURL(_ repository: RepositoryName, _ digest: Digest) async throws -> String? {
        if case .mirrored = route(repository), !(try await local.hasBlob(repository, digest)) { return nil }
        return try await local.blobRedirectURL(digest)
    }

    public func deleteBlob(_ repository: RepositoryName, _ digest: Digest) async throws {
        try await local.deleteBlob(repository, digest)
    }

    public func mountBlob(_ repository: RepositoryName, from source: RepositoryName, _ digest: Digest) async throws -> Int64? {
        try requireOwnRepository(repository)
        return try await local.mountBlob(repository, from: source, digest)
    }
}
