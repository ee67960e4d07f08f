import Foundation
import NIOCore
import OCI

extension RegistryStore {
    public struct UploadStatus: Sendable {
        public var id: UploadID
        public var size: Int64
        public var startedAt: Date?
    }

    public func startUpload(_ repository: RepositoryName) async throws -> UploadID {
        try requireWritable()
        let id = UploadID.random()
        let started = ISO8601DateFormatter().string(from: Date())
        try await driver.putContent(Layout.uploadStartedAt(repository, id), Array(started.utf8))
        try await driver.putContent(Layout.uploadData(repository, id), [])
        return id
    }

    /// The upload's write session, at `offset` (wherever it is when nil).
    private func uploadWriter(_ repository: RepositoryName, _ id: UploadID, at offset: Int64?) async throws -> any StorageWriter {
        do {
            return try await driver.writer(Layout.uploadData(repository, id), at: offset)
        } catch StorageError.invalidOffset(_, let actual) {
            // Another request is writing, or the client is behind.
            throw RegistryError(.rangeInvalid, message: "invalid content range: upload is at offset \(actual)")
        } catch StorageError.notFound {
            throw RegistryError(.blobUploadUnknown)
        }
    }

    public func uploadStatus(_ repository: RepositoryName, _ id: UploadID) async throws -> UploadStatus {
        do {
            let size = try await driver.writtenSize(Layout.uploadData(repository, id))
            let started = try? await driver.getContent(Layout.uploadStartedAt(repository, id), maxSize: 128)
            let date = started.flatMap { Self.parseStartedAt(String(decoding: $0, as: UTF8.self)) }
            return UploadStatus(id: id, size: size, startedAt: date)
        } catch StorageError.notFound {
            throw RegistryError(.blobUploadUnknown)
        }
    }

    /// Appends a chunk that must start at `offset` (the current size when nil).
    /// Returns the new size.
    public func appendUpload<Chunks: AsyncSequence>(
        _ repository: RepositoryName, _ id: UploadID, at offset: Int64?, from chunks: Chunks
    ) async throws -> Int64 where Chunks.Element == ByteBuffer {
        try await append(repository, id, at: offset, from: chunks, hashedAlready: nil)
    }

    /// Appends the upload's first bytes, which the caller has hashed already: `hashAfter` is
    /// read once they are written, and the upload keeps it as its state when it covers
    /// exactly as many bytes (a mirror's fetch, which hashes each byte to check it against the
    /// digest anyway, spares the storage a second hash). Any other state is ignored, and the
    /// commit then reads the upload back. Into an upload that holds bytes already, the bytes
    /// are hashed as by any append: a caller's state could not vouch for those.
    public func appendUpload<Chunks: AsyncSequence>(
        _ repository: RepositoryName, _ id: UploadID, at offset: Int64?, from chunks: Chunks,
        hashedAlready hashAfter: @escaping @Sendable () -> ResumableSHA256?
    ) async throws -> Int64 where Chunks.Element == ByteBuffer {
        try await append(repository, id, at: offset, from: chunks, hashedAlready: hashAfter)
    }

    private func append<Chunks: AsyncSequence>(
        _ repository: RepositoryName, _ id: UploadID, at offset: Int64?, from chunks: Chunks,
        hashedAlready hashAfter: (@Sendable () -> ResumableSHA256?)?
    ) async throws -> Int64 where Chunks.Element == ByteBuffer {
        try requireWritable()
        // Opened at nil rather than 0: an append never creates an upload; `startUpload` does.
        let writer = try await uploadWriter(repository, id, at: offset == 0 ? nil : offset)
        let current = writer.size
        if let offset, offset != current {
            try? await writer.close()
            throw RegistryError(.rangeInvalid, message: "invalid content range: upload is at offset \(current), chunk starts at \(offset)")
        }
        let hashedAlready = current == 0 ? hashAfter : nil
        var hasher: ResumableSHA256?
        if hashedAlready == nil { hasher = current == 0 ? ResumableSHA256() : await savedHash(repository, id, at: current) }
        do {
            let size = try await writer.write(chunks) { chunk in
                chunk.withUnsafeReadableBytes { hasher?.update(bufferPointer: $0) }
            }
            try await writer.close()
            if let hashedAlready { hasher = hashedAlready() }
            if let hasher, hasher.count == size { await saveHash(hasher, repository, id) }
            return size
        } catch {
            // What arrived before the failure stays, for the client to resume from.
            try? await writer.close()
            throw error
        }
    }

    /// Verifies the uploaded data against `digest` and makes it a blob of `repository`.
    /// On a mismatch the upload is discarded and nothing is stored.
    public func completeUpload(_ repository: RepositoryName, _ id: UploadID, digest: Digest) async throws -> Int64 {
        try requireWritable()
        let writer = try await uploadWriter(repository, id, at: nil)
        let size = writer.size
        let data = Layout.uploadData(repository, id), blob = Layout.blobData(digest)
        do {
            if digest.algorithm == .sha256, let hasher = await savedHash(repository, id, at: size) {
                let actual = hasher.finalize()
                guard actual == digest else {
                    try? await writer.cancel()
                    throw await discard(repository, id, expected: digest, actual: actual)
                }
                // Committing the fully written data into place is the commit point: a blob
                // path only ever holds complete, verified content.
                if try await driver.exists(blob) { try await writer.cancel() } else { try await writer.commit(to: blob) }
            } else {
                // No hash state at this offset (an upload Berth took before it saved them, a
                // state write that failed, another algorithm): make the data a readable
                // file, hash it, then move it in.
                try await writer.commit(to: data)
                var hasher = DigestHasher(algorithm: digest.algorithm)
                try await driver.read(data, range: nil) { chunk in
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                }
                let actual = hasher.finalize()
                guard actual == digest else { throw await discard(repository, id, expected: digest, actual: actual) }
                if try await !driver.exists(blob) { try await driver.move(from: data, to: blob) }
            }
        } catch {
            try? await writer.close()
            throw error
        }
        try? await driver.delete(Layout.upload(repository, id))
        await uploadHashes.remove(id)
        try await writeLink(Layout.layerLink(repository, digest), digest)
        try await repositoryIndex.insert(repository)
        return size
    }

    /// Whether the upload's `size` bytes hash to `digest`, from the hash state its writes kept
    /// (nil when there is none), storing nothing: what lets a cache hand out a blob's last byte
    /// before the blob is durable.
    public func uploadDigestMatches(_ repository: RepositoryName, _ id: UploadID, digest: Digest, size: Int64) async -> Bool? {
        guard digest.algorithm == .sha256, let hasher = await savedHash(repository, id, at: size) else { return nil }
        return hasher.finalize() == digest
    }

    /// The sha256 state after `offset` bytes of the upload: this process's, else the one
    /// saved in the storage by whichever replica (Berth or Distribution) wrote them.
    private func savedHash(_ repository: RepositoryName, _ id: UploadID, at offset: Int64) async -> ResumableSHA256? {
        if let cached = await uploadHashes.hasher(for: id, at: offset) { return cached }
        guard let bytes = try? await driver.getContent(Layout.uploadHashState(repository, id, offset: offset),
                                                      maxSize: ResumableSHA256.marshaledSize),
              let state = ResumableSHA256(marshaled: bytes), state.count == offset else { return nil }
        return state
    }

    /// Keeps the state for the next request, here and in the storage. Failing to save it
    /// costs a read of the upload at commit, nothing more.
    private func saveHash(_ hasher: ResumableSHA256, _ repository: RepositoryName, _ id: UploadID) async {
        await uploadHashes.store(hasher, for: id, at: hasher.count)
        do {
            try await driver.putContent(Layout.uploadHashState(repository, id, offset: hasher.count), hasher.marshaled())
        } catch {
            logger.debug("upload hash state not saved", metadata: ["upload": "\(id.value)", "error": "\(error)"])
        }
    }

    /// A digest mismatch: the upload is removed and nothing is stored.
    private func discard(_ repository: RepositoryName, _ id: UploadID, expected: Digest, actual: Digest) async -> RegistryError {
        try? await cancelUpload(repository, id)
        return RegistryError(.digestInvalid, message: "provided digest did not match uploaded content",
                             detailJSON: RegistryError.detail(["expected": expected.description, "actual": actual.description]))
    }

    /// Berth writes `startedat` in whole seconds; Distribution writes Go's RFC 3339 with
    /// nanoseconds (`2026-11-22T10:00:00.123456789Z`).
    static func parseStartedAt(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: trimmed) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: trimmed)
    }

    public func cancelUpload(_ repository: RepositoryName, _ id: UploadID) async throws {
        await uploadHashes.remove(id)
        do {
            try await driver.delete(Layout.upload(repository, id))
        } catch StorageError.notFound {
            throw RegistryError(.blobUploadUnknown)
        }
    }

    /// An upload nobody finished: where, and how many bytes it holds.
    public struct AbandonedUpload: Sendable, Codable, Equatable {
        public var upload: String
        public var bytes: Int64
        public var startedAt: Date?
    }

    /// Removes uploads started before `cutoff` in every repository; returns what was (or,
    /// with `dryRun`, would be) removed.
    public func purgeUploads(startedBefore cutoff: Date, dryRun: Bool) async throws -> [String] {
        try await removeUploads(startedBefore: cutoff, dryRun: dryRun).map(\.upload)
    }

    /// As `purgeUploads`, with each upload's size and start.
    public func removeUploads(startedBefore cutoff: Date, dryRun: Bool) async throws -> [AbandonedUpload] {
        var purged: [AbandonedUpload] = []
        // Walk the layout itself: a repository may hold nothing but abandoned uploads.
        let withUploads = FoundNames()
        try await driver.walk(Layout.repositories) { relative, children in
            if !relative.isEmpty, children.contains("_uploads") { withUploads.append(relative.joined(separator: "/")) }
            return children.filter { !$0.hasPrefix("_") && RepositoryName.isValidComponent($0) }
        }
        for name in withUploads.names {
            guard let repository = try? RepositoryName(name) else { continue }
            for entry in try await driver.listIfPresent(Layout.uploads(repository)) {
                guard let id = try? UploadID(entry) else { continue }
                let status = try? await uploadStatus(repository, id)
                let modified = try? await driver.stat(Layout.upload(repository, id)).modifiedAt
                let startedAt = status?.startedAt ?? modified.map { Date(timeIntervalSince1970: $0) } ?? .distantPast
                guard startedAt < cutoff else { continue }
                purged.append(AbandonedUpload(upload: "\(name)/\(id)", bytes: status?.size ?? 0,
                                              startedAt: startedAt == .distantPast ? nil : startedAt))
                if !dryRun {
                    await uploadHashes.remove(id)
                    try? await driver.delete(Layout.upload(repository, id))
                }
            }
        }
        return purged
    }
}
