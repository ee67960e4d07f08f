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

    public func readBlobBuffers(_ repository: RepositoryName, _ digest: Digest, range: Range<Int64>?,
                                into consumer: ([ByteBuffer]) async throws -> Void) async throws {
        guard case .mirrored(let upstream, let name) = route(repository), !(try await local.hasBlob(repository, digest)) else {
            return try await local.readBlob(digest, range: range) { try await consumer([$0]) }
        }
        try await follow(try await joinFetch(repository, upstream, name, digest).fetch, repository, digest: digest, range: range, into: consumer)
    }

    public func prepareBlobRead(_ repository: RepositoryName, _ digest: Digest) async throws {
        guard case .mirrored(let upstream, let name) = route(repository), !(try await local.hasBlob(repository, digest)) else { return }
        let (fetch, created) = try await joinFetch(repository, upstream, name, digest)
        // A fetch started here already counts this reader.
        if !created { await fetch.expectReader() }
        try await fetch.started()
    }

    /// What concurrent work on one blob of one repository is shared by.
    static func key(_ repository: RepositoryName, _ digest: Digest) -> String { "\(repository.value)@\(digest)" }

    /// The fetch of this blob in flight, started when there is none.
    private func joinFetch(_ repository: RepositoryName, _ upstream: Upstream, _ name: RepositoryName,
                           _ digest: Digest) async throws -> (fetch: BlobFetch, created: Bool) {
        let local = self.local, logger = self.logger, directory = spoolDirectory, stallCheck = self.stallCheck
        // Readers follow the upload itself where the storage lets them (one write of each byte).
        let spooled = !local.readsUnfinishedUploads
        return try await fetches.join(Self.key(repository, digest), makeSpool: { spooled ? try Spool(directory: directory) : nil }) { fetch in
            await Self.fetchBlob(fetch, local: local, repository, upstream, name, digest, stallCheck: stallCheck, logger: logger)
        }
    }

    /// Streams `range` of a blob being fetched as it arrives.
    private func follow(_ fetch: BlobFetch, _ repository: RepositoryName, digest: Digest, range: Range<Int64>?,
                        into consumer: ([ByteBuffer]) async throws -> Void) async throws {
        let reader = await fetch.addReader(at: range?.lowerBound ?? 0)
        do {
            try await follow(fetch, as: reader, repository, digest: digest, range: range, into: consumer)
        } catch {
            await fetch.removeReader(reader)
            throw error
        }
        await fetch.removeReader(reader)
    }

    private func follow(_ fetch: BlobFetch, as reader: Int, _ repository: RepositoryName, digest: Digest, range: Range<Int64>?,
                        into consumer: ([ByteBuffer]) async throws -> Void) async throws {
        var position = range?.lowerBound ?? 0
        let end = range?.upperBound
        var seen = -1
        while end.map({ position < $0 }) ?? true {
            switch try await fetch.progress(after: seen) {
            case .stored(let size):
                let upTo = min(size, end ?? size)
                guard position < upTo else { return }
                // The spool holds it all unless the blob was stored before this fetch began.
                if let spool = fetch.spool, await fetch.received >= size {
                    try await Self.copy(from: spool, position..<upTo, into: consumer)
                } else {
                    try await local.readBlob(digest, range: position..<upTo) { try await consumer([$0]) }
                }
                return
            case .running(let received, let verified, let change):
                seen = change
                // Everything but the last byte so far: that one waits for the digest (not
                // for the commit).
                let limit = min(verified ? received : received - 1, end ?? .max)
                do {
                    try await readReceived(fetch, as: reader, repository, from: &position, to: limit, into: consumer)
                    if verified, position >= limit { return }
                } catch let error as RegistryError where error.code == .blobUploadUnknown {
                    // Committed (the blob is stored) or cancelled (the fetch failed) meanwhile.
                    await fetch.ended()
                }
            }
        }
    }

    /// Reads what a running fetch has received, up to `limit`: from memory when it is recent,
    /// else from its spool or, without one, from the upload, whose own size says how much of
    /// it is written yet (a reader behind both the window and the writer waits for the writer,
    /// and past where the writer fell behind, for the commit).
    private func readReceived(_ fetch: BlobFetch, as reader: Int, _ repository: RepositoryName, from position: inout Int64,
                              to limit: Int64, into consumer: ([ByteBuffer]) async throws -> Void) async throws {
        if position < limit, let recent = await fetch.take(position..<limit, reader: reader) {
            try await consumer(recent)
            position = limit
            return
        }
        if let spool = fetch.spool {
            if position < limit { try await Self.copy(from: spool, position..<limit, into: consumer) }
            position = max(position, limit)
            return
        }
        guard let upload = await fetch.upload else { return }
        // Only what this fetch received and hashed: past where the writer fell behind, the
        // upload holds a second request's bytes, checked by the commit (the reader then reads
        // the stored blob). The size first: were the writer to fall behind in between, no byte
        // of the second request could be in it yet.
        let written = try await local.unfinishedUploadSize(repository, upload)
        let upTo = min(limit, written, await fetch.writerFellBehindAt ?? written)
        guard position < upTo else { return }
        try await local.readUnfinishedUpload(repository, upload, range: position..<upTo) { chunk in
            position += Int64(chunk.readableBytes)
            try await consumer([chunk])
        }
    }

    private static func copy(from spool: Spool, _ range: Range<Int64>, into consumer: ([ByteBuffer]) async throws -> Void) async throws {
        for try await chunk in SpoolChunks(spool: spool, range: range) { try await consumer([chunk]) }
    }

    /// Upstream → readers and storage. The readers get the bytes as they arrive (the last one
    /// once the digest matched); the storage's writer follows as far as it keeps up and
    /// writes the rest afterwards; the blob is committed once the storage's own hash matched.
    static func fetchBlob(_ fetch: BlobFetch, local: RegistryStore, _ repository: RepositoryName, _ upstream: Upstream,
                          _ name: RepositoryName, _ digest: Digest, stallCheck: Duration, logger: Logger) async {
        if (try? await local.hasBlob(repository, digest)) == true, let size = try? await local.blobSize(repository, digest) {
            // Stored between the reader's check and this fetch's start.
            await fetch.finish(.stored(size: size))
            return
        }
        var upload: UploadID?
        let stallChecks = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: stallCheck)
                await fetch.checkStalls()
            }
        }
        defer { stallChecks.cancel() }
        do {
            let stream = try await openUpstreamBlob(upstream, name, digest)
            let id = try await local.startUpload(repository)
            upload = id
            await fetch.upstreamResponded(size: stream.size, upload: id)
            let writer = Task {
                do {
                    // What the writer takes from the window the fetch has hashed: the storage keeps
                    // that state instead of hashing the bytes again.
                    let follower = WindowFollower(fetch: fetch, start: 0)
                    let written = try await local.appendUpload(repository, id, at: 0, from: follower,
                                                               hashedAlready: { follower.hashAfterHandedOut.value })
                    await fetch.stopWriting()
                    await fetch.wrote()
                    return written
                } catch {
                    await fetch.stopWriting()
                    throw error
                }
            }
            let size: Int64
            do {
                size = try await FetchReceiver.receive(stream.body, into: fetch, expectedSize: stream.size, digest: digest)
            } catch {
                await fetch.finish(.failed(error))
                _ = await writer.result
                throw error
            }
            var written = try await writer.value
            if written < size {
                logger.info("the storage fell behind the clients; writing the rest of the blob after its fetch", metadata: [
                    "repository": .string(repository.value), "digest": .string(digest.description),
                    "from": .stringConvertible(written), "source": .string(fetch.spool == nil ? "upstream (ranged GET)" : "spool")])
                written = try await catchUp(fetch, local: local, repository, id, from: written, size: size, upstream, name, digest)
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

    /// Writes what the storage's writer missed, `offset..<size`: from the spool when there
    /// is one, else from the upstream again (a ranged GET). The storage hashes these bytes on
    /// top of those already written, and the commit checks that hash against the digest;
    /// readers wait for the commit rather than read them (see `readReceived`).
    private static func catchUp(_ fetch: BlobFetch, local: RegistryStore, _ repository: RepositoryName, _ id: UploadID,
                                from offset: Int64, size: Int64, _ upstream: Upstream, _ name: RepositoryName,
                                _ digest: Digest) async throws -> Int64 {
        let written: Int64
        if let spool = fetch.spool {
            let body = CatchUpBody(base: SpoolChunks(spool: spool, range: offset..<size), skipping: 0, expected: size - offset)
            written = try await local.appendUpload(repository, id, at: offset, from: body)
        } else {
            let stream = try await openUpstreamBlob(upstream, name, digest, from: offset)
            let body = CatchUpBody(base: stream.body, skipping: offset - stream.offset, expected: size - offset)
            written = try await local.appendUpload(repository, id, at: offset, from: body)
        }
        guard written == size else {
            throw RegistryError(.unavailable, message: "the upstream sent \(written - offset) of the \(size - offset) bytes asked for from byte \(offset)")
        }
        return written
    }

    /// The upstream's blob from `offset` on; what goes wrong is the client's BLOB_UNKNOWN or
    /// UNAVAILABLE, naming the upstream.
    private static func openUpstreamBlob(_ upstream: Upstream, _ name: RepositoryName, _ digest: Digest,
                                         from offset: Int64 = 0) async throws -> RegistryClient.BlobStream {
        do {
            return try await upstream.attempt { try await $0.openBlob(name, digest, from: offset) }
        } catch {
            throw UpstreamFailure(error, upstream: upstream).registryError(.blobUnknown, detail: RegistryError.detail(["digest": digest.description]))
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
