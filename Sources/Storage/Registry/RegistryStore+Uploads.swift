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

    /// The bytes received so far; BLOB_UPLOAD_UNKNOWN when there is no such upload.
    func uploadSize(_ repository: RepositoryName, _ id: UploadID) async throws -> Int64 {
        do {
            return try await driver.stat(Layout.uploadData(repository, id)).size
        } catch StorageError.notFound {
            throw RegistryError(.blobUploadUnknown)
        }
    }

    public func uploadStatus(_ repository: RepositoryName, _ id: UploadID) async throws -> UploadStatus {
        do {
            let size = try await driver.stat(Layout.uploadData(repository, id)).size
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
        try requireWritable()
        let current = try await uploadSize(repository, id)
        if let offset, offset != current {
            throw RegistryError(.rangeInvalid, message: "invalid content range: upload is at offset \(current), chunk starts at \(offset)")
        }
        var hasher = await uploadHashes.hasher(for: id, at: current) ?? (current == 0 ? DigestHasher(algorithm: .sha256) : nil)
        do {
            let size = try await driver.append(to: Layout.uploadData(repository, id), at: current, from: chunks) { chunk in
                chunk.withUnsafeReadableBytes { hasher?.update(bufferPointer: $0) }
            }
            if let hasher { await uploadHashes.store(hasher, for: id, at: size) }
            return size
        } catch StorageError.invalidOffset(_, let actual) {
            // Another request appended concurrently.
            throw RegistryError(.rangeInvalid, message: "invalid content range: upload is at offset \(actual)")
        } catch StorageError.notFound {
            throw RegistryError(.blobUploadUnknown)
        }
    }

    /// Verifies the uploaded data against `digest` and makes it a blob of `repository`.
    /// On a mismatch the upload is discarded and nothing is stored.
    public func completeUpload(_ repository: RepositoryName, _ id: UploadID, digest: Digest) async throws -> Int64 {
        try requireWritable()
        let size = try await uploadSize(repository, id)
        let actual: Digest
        if digest.algorithm == .sha256, let hasher = await uploadHashes.hasher(for: id, at: size) {
            actual = hasher.finalize()
        } else {
            var hasher = DigestHasher(algorithm: digest.algorithm)
            try await driver.read(Layout.uploadData(repository, id), range: nil) { chunk in
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            }
            actual = hasher.finalize()
        }
        guard actual == digest else {
            try? await cancelUpload(repository, id)
            throw RegistryError(.digestInvalid, message: "provided digest did not match uploaded content",
                                detailJSON: RegistryError.detail(["expected": digest.description, "actual": actual.description]))
        }
        // Moving the fully written, fsynced data into place is the commit point: a blob
        // path only ever holds complete, verified content.
        if try await driver.exists(Layout.blobData(digest)) {
            try? await driver.delete(Layout.upload(repository, id))
        } else {
            try await driver.sync(Layout.uploadData(repository, id))
            try await driver.move(from: Layout.uploadData(repository, id), to: Layout.blobData(digest))
            try? await driver.delete(Layout.upload(repository, id))
        }
        await uploadHashes.remove(id)
        try await writeLink(Layout.layerLink(repository, digest), digest)
        await repositoryIndex.insert(repository)
        return size
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

    /// Removes uploads started before `cutoff` in every repository; returns what was (or,
    /// with `dryRun`, would be) removed.
    public func purgeUploads(startedBefore cutoff: Date, dryRun: Bool) async throws -> [String] {
        var purged: [String] = []
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
                let started = (try? await uploadStatus(repository, id).startedAt) ?? nil
                let modified = try? await driver.stat(Layout.upload(repository, id)).modifiedAt
                let startedAt = started ?? modified.map { Date(timeIntervalSince1970: $0) } ?? .distantPast
                guard startedAt < cutoff else { continue }
                purged.append("\(name)/\(id)")
                if !dryRun {
                    await uploadHashes.remove(id)
                    try? await driver.delete(Layout.upload(repository, id))
                }
            }
        }
        return purged
    }
}
