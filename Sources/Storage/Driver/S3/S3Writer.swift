import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// A write session on one S3 key, kept entirely in the bucket so that any replica can
/// continue it:
/// - parts of at least `chunksize` go into a multipart upload on the key;
/// - the bytes after the last part (less than a part) are kept as the object at the key
///   itself, so small PATCHes never cost a complete-and-copy;
/// - that tail object is the session's commit record: its metadata names the multipart
///   upload and how many parts of how many bytes come before it. Reopening a session is one
///   HEAD, not ListMultipartUploads and ListParts (the parts' ETags are listed once, at
///   commit); a part uploaded by a session that died before writing its record is not
///   counted, and the next session uploads that part number again;
/// - one session at a time per key, across replicas: a lease object created with
///   `If-None-Match: *`, renewed while the session lives, taken over only when stale.
/// Tails written before the record existed (only a part count) are read as they were:
/// through ListMultipartUploads and ListParts, as Distribution's driver does.
final class S3Writer: StorageWriter, @unchecked Sendable {
    static let partsMetadata = "x-amz-meta-berth-parts"
    static let partsSizeMetadata = "x-amz-meta-berth-parts-size"
    static let uploadMetadata = "x-amz-meta-berth-upload"

    struct Part {
        var number: Int
        var etag: String
        var size: Int64
    }

    /// What the bucket holds for a key being written.
    struct State {
        var uploadID: String?
        /// Parts before the tail, and their bytes.
        var partCount: Int
        var partsSize: Int64
        /// The parts themselves, when they were listed.
        var listedParts: [Part]?
        var tail: S3Driver.ObjectHead?
        /// Whether the tail's bytes follow the parts (a legacy tail a later part made stale
        /// does not).
        var tailIsCurrent: Bool
        /// Whether the tail carries a commit record (else a legacy one, to be rewritten).
        var hasRecord = false

        var size: Int64 { partsSize + (tailIsCurrent ? tail!.size : 0) }

        /// Nil when nothing was ever written at `key`.
        static func load(_ driver: S3Driver, _ key: String) async throws -> State? {
            let tail = try await driver.head(key)
            if let tail, let record = Self.record(tail) { return record }
            let upload = try await driver.multipartUploads(prefix: key).first { $0.key == key }
            guard let upload else {
                return tail.map { State(uploadID: nil, partCount: 0, partsSize: 0, tail: $0, tailIsCurrent: true) }
            }
            let parts = try await listParts(driver, key, upload.uploadID)
            let current = tail.map { Int($0.meta.first(name: S3Writer.partsMetadata) ?? "0") == parts.count } ?? false
            return State(uploadID: upload.uploadID, partCount: parts.count, partsSize: parts.reduce(0) { $0 + $1.size },
                         listedParts: parts, tail: tail, tailIsCurrent: current)
        }

        /// The commit record a tail carries, if it was written with one.
        static func record(_ tail: S3Driver.ObjectHead) -> State? {
            guard let count = tail.meta.first(name: S3Writer.partsMetadata).flatMap(Int.init), count >= 0,
                  let size = tail.meta.first(name: S3Writer.partsSizeMetadata).flatMap(Int64.init), size >= 0 else { return nil }
            let upload = tail.meta.first(name: S3Writer.uploadMetadata).flatMap { $0.isEmpty ? nil : $0 }
            guard (upload == nil) == (count == 0) else { return nil }
            return State(uploadID: upload, partCount: count, partsSize: size, tail: tail, tailIsCurrent: true, hasRecord: true)
        }

        static func listParts(_ driver: S3Driver, _ key: String, _ uploadID: String) async throws -> [Part] {
            var parts: [Part] = []
            var marker: String?
            while true {
                var query: [(String, String)] = [("uploadId", uploadID)]
                if let marker { query.append(("part-number-marker", marker)) }
                guard let xml = try await driver.client.send(.GET, key: key, query: query).xml else { break }
                parts += xml.all("Part").compactMap { part in
                    guard let number = part["PartNumber"].flatMap(Int.init), let etag = part["ETag"] else { return nil }
                    return Part(number: number, etag: etag, size: Int64(part["Size"] ?? "") ?? 0)
                }
                guard xml["IsTruncated"] == "true", let next = xml["NextPartNumberMarker"] else { break }
                marker = next
            }
            return parts.sorted { $0.number < $1.number }
        }
    }

    private let driver: S3Driver
    private let path: StoragePath
    private let key: String
    private let lease: S3Lease
    private var uploadID: String?
    /// Parts recorded before this session, by count and bytes; their ETags once listed.
    private let recordedCount: Int
    private let recordedSize: Int64
    private var recordedParts: [Part]?
    /// Parts this session uploaded, numbered after the recorded ones.
    private var newParts: [Part] = []
    /// Bytes after the last part, not yet in a part.
    private var buffer: ByteBuffer
    /// The tail object no longer matches the parts and `buffer`.
    private var tailDirty: Bool
    private var ended = false
    private(set) var size: Int64
    private var chunkSize: Int { driver.configuration.chunkSize }
    private var partCount: Int { recordedCount + newParts.count }
    private var partsSize: Int64 { recordedSize + newParts.reduce(0) { $0 + $1.size } }

    private init(driver: S3Driver, path: StoragePath, key: String, lease: S3Lease, state: State?, buffer: ByteBuffer,
                 firstPart: Part? = nil) {
        self.driver = driver
        self.path = path
        self.key = key
        self.lease = lease
        uploadID = state?.uploadID
        recordedCount = state?.partCount ?? 0
        recordedSize = state?.partsSize ?? 0
        recordedParts = state?.listedParts
        newParts = firstPart.map { [$0] } ?? []
        self.buffer = buffer
        // A legacy tail is rewritten as a commit record by the first session that closes.
        tailDirty = state.map { !($0.tailIsCurrent && $0.hasRecord) } ?? true
        size = (state?.partsSize ?? 0) + (firstPart?.size ?? 0) + Int64(buffer.readableBytes)
    }

    static func open(_ driver: S3Driver, _ path: StoragePath, at offset: Int64?) async throws -> S3Writer {
        let key = driver.client.key(path)
        guard let lease = try await S3Lease.acquire(driver.client, for: key) else {
            let size = try await State.load(driver, key)?.size ?? 0
            throw StorageError.invalidOffset(expected: offset ?? size, actual: size)
        }
        do {
            var state = try await State.load(driver, key)
            if state == nil, offset != 0 { throw StorageError.notFound(path.description) }
            let current = state?.size ?? 0
            if let offset, offset != current { throw StorageError.invalidOffset(expected: offset, actual: current) }
            var buffer = ByteBuffer()
            var firstPart: Part?
            if let loaded = state, loaded.tailIsCurrent, let tail = loaded.tail, tail.size > 0 {
                if loaded.partCount > 0 || tail.size < 3 * Int64(driver.configuration.chunkSize) {
                    buffer = ByteBuffer(bytes: try await driver.client.send(.GET, key: key, maxResponse: Int(tail.size) + 1).body)
                } else {
                    // A whole file at the key (a committed or foreign upload): it becomes part 1.
                    let id = try await driver.createMultipartUpload(key)
                    let source = "/" + driver.configuration.bucket + "/" + SigV4Signer.uriEncode(key, keepSlash: true)
                    let response = try await driver.client.send(.PUT, key: key, query: [("partNumber", "1"), ("uploadId", id)],
                                                                headers: [("x-amz-copy-source", source)])
                    guard let etag = response.xml?["ETag"] else { throw StorageError.io("S3 UploadPartCopy \(key): no ETag") }
                    state = State(uploadID: id, partCount: 0, partsSize: 0, listedParts: [], tail: tail, tailIsCurrent: false)
                    firstPart = Part(number: 1, etag: etag, size: tail.size)
                }
            }
            return S3Writer(driver: driver, path: path, key: key, lease: lease, state: state, buffer: buffer, firstPart: firstPart)
        } catch {
            await lease.release()
            throw error
        }
    }

    deinit {
        if !ended { let lease = self.lease; Task { await lease.release() } }
    }

    private func requireOpen() throws {
        guard !ended else { throw StorageError.io("write session on \(path) has ended") }
        guard !lease.isLost else { throw StorageError.io("write session on \(path) lost its lease to another writer") }
    }

    private static func uploadPart(_ driver: S3Driver, _ key: String, _ uploadID: String, _ number: Int, _ bytes: ByteBuffer) async throws -> Part {
        let response = try await driver.client.send(.PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                                                    body: bytes)
        guard let etag = response.etag else { throw StorageError.io("S3 UploadPart \(key): no ETag") }
        return Part(number: number, etag: etag, size: Int64(bytes.readableBytes))
    }

    func write<Chunks: AsyncSequence>(
        _ chunks: Chunks, observe: (ByteBuffer) -> Void
    ) async throws -> Int64 where Chunks.Element == ByteBuffer {
        try requireOpen()
        // One part uploads while the next fills: at most two parts in memory.
        var pending: (bytes: ByteBuffer, task: Task<Part, any Error>)?
        func settle() async throws {
            guard let (bytes, task) = pending else { return }
            pending = nil
            do {
                newParts.append(try await task.value)
            } catch {
                // The part's bytes and those after it are still contiguous: keep them all.
                var restored = bytes
                restored.writeImmutableBuffer(buffer)
                buffer = restored
                throw error
            }
        }
        do {
            for try await chunk in chunks {
                observe(chunk)
                buffer.writeImmutableBuffer(chunk)
                size += Int64(chunk.readableBytes)
                tailDirty = true
                if buffer.readableBytes >= chunkSize {
                    try await settle()
                    try requireOpen()
                    let bytes = buffer
                    buffer = ByteBuffer()
                    if uploadID == nil { uploadID = try await driver.createMultipartUpload(key) }
                    let number = partCount + 1, driver = self.driver, key = self.key, id = uploadID!
                    pending = (bytes, Task { try await Self.uploadPart(driver, key, id, number, bytes) })
                }
            }
            try await settle()
        } catch {
            try? await settle()
            // What arrived stays written, for the client to resume from.
            try? await persistTail()
            throw error
        }
        return size
    }

    /// Writes the bytes after the last part as the object at the key, with the commit
    /// record: what the session holds from now on, whoever continues it.
    private func persistTail() async throws {
        guard tailDirty else { return }
        try requireOpen()
        var record = [(Self.partsMetadata, String(partCount)), (Self.partsSizeMetadata, String(partsSize))]
        if let uploadID, partCount > 0 { record.append((Self.uploadMetadata, uploadID)) }
        _ = try await driver.client.send(.PUT, key: key, headers: driver.objectHeaders + record, body: buffer)
        tailDirty = false
    }

    /// Every part of the upload, in order: the recorded ones (listed now if they were not,
    /// and checked against the record) and this session's.
    private func allParts() async throws -> [Part] {
        if recordedParts == nil, recordedCount > 0, let uploadID {
            let listed = try await State.listParts(driver, key, uploadID).filter { $0.number <= recordedCount }
            guard listed.map(\.number) == Array(1...recordedCount), listed.reduce(0, { $0 + $1.size }) == recordedSize else {
                throw StorageError.io("S3 upload \(key): its parts no longer match the session's record")
            }
            recordedParts = listed
        }
        return (recordedParts ?? []).prefix(recordedCount) + newParts
    }

    func close() async throws {
        guard !ended else { return }
        defer { ended = true }
        do { try await persistTail() } catch { await lease.release(); throw error }
        await lease.release()
    }

    func commit(to destination: StoragePath) async throws {
        try requireOpen()
        let target = driver.client.key(destination)
        if uploadID == nil {
            _ = try await driver.client.send(.PUT, key: target, headers: driver.objectHeaders, body: buffer)
            if target != key { _ = try? await driver.client.send(.DELETE, key: key) }
        } else {
            if buffer.readableBytes > 0 {
                newParts.append(try await Self.uploadPart(driver, key, uploadID!, partCount + 1, buffer))
                buffer = ByteBuffer()
                tailDirty = true
            }
            let parts = try await allParts()
            try requireOpen()
            try await driver.completeMultipartUpload(key, uploadID!, parts: parts.map { ($0.number, $0.etag) })
            // The key now holds the whole file: nothing of the session is left to persist.
            uploadID = nil
            tailDirty = false
            if target != key {
                try await driver.copy(from: key, size: size, to: target)
                _ = try await driver.client.send(.DELETE, key: key)
            }
        }
        ended = true
        await lease.release()
    }

    func cancel() async throws {
        guard !ended else { return }
        ended = true
        if let uploadID { _ = try? await driver.client.send(.DELETE, key: key, query: [("uploadId", uploadID)]) }
        _ = try? await driver.client.send(.DELETE, key: key)
        await lease.release()
    }
}

/// One writer per key across replicas: an object created only if absent, renewed by its
/// holder every quarter of `S3Configuration.leaseDuration`, and taken over by another
/// only after it went unrenewed for that long.
final class S3Lease: @unchecked Sendable {

    private let client: S3Client
    private let key: String
    private let lock = NSLock()
    private var etag: String
    private var lost = false
    private var heartbeat: Task<Void, Never>?
    private var released = false

    var isLost: Bool { lock.withLock { lost } }

    private init(client: S3Client, key: String, etag: String) {
        self.client = client
        self.key = key
        self.etag = etag
    }

    static func lockKey(_ client: S3Client, for key: String) -> String {
        client.rootPrefix + BerthLayout.uploadLocks.components.joined(separator: "/") + "/" + SigV4Signer.hex(SHA256.hash(data: Array(key.utf8)))
    }

    private static func body() -> ByteBuffer {
        ByteBuffer(string: "\(UUID().uuidString) \(Date().timeIntervalSince1970)\n")
    }

    /// The new lease object's ETag, or nil when `condition` did not hold (another's lease).
    private static func put(_ client: S3Client, _ key: String, if condition: (String, String)) async throws -> String? {
        do {
            guard let etag = try await client.send(.PUT, key: key, headers: [condition], body: body()).etag else {
                throw StorageError.io("S3 lease \(key): no ETag")
            }
            return etag
        } catch let failure as S3Failure where failure.isPreconditionFailed {
            return nil
        }
    }

    /// `put` if the object's ETag is still `etag`. S3 compares the quoted ETag it sent;
    /// Ceph's radosgw (16) only the bare value, so a refusal is asked again in that form.
    /// Both requests are conditional: a lease that really changed is refused by both.
    private static func put(_ client: S3Client, _ key: String, ifMatch etag: String) async throws -> String? {
        if let written = try await put(client, key, if: ("if-match", etag)) { return written }
        let bare = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard bare != etag else { return nil }
        return try await put(client, key, if: ("if-match", bare))
    }

    /// Nil when another live session holds the key.
    static func acquire(_ client: S3Client, for key: String) async throws -> S3Lease? {
        let lockKey = lockKey(client, for: key)
        var etag = try await put(client, lockKey, if: ("if-none-match", "*"))
        if etag == nil {
            // Held, or left by a crash: stale once unrenewed for longer than the lease. Both
            // times are the server's, so clock skew between replicas does not matter.
            let head = try await client.send(.HEAD, key: lockKey, accept: [200, 404])
            let now = head.headers.first(name: "date").flatMap(S3Driver.httpDate) ?? Date()
            if head.status == 404 {
                etag = try await put(client, lockKey, if: ("if-none-match", "*"))
            } else if let stale = head.etag, let renewed = head.headers.first(name: "last-modified").flatMap(S3Driver.httpDate),
                      now.timeIntervalSince(renewed) > client.configuration.leaseDuration {
                etag = try await put(client, lockKey, ifMatch: stale)
            }
        }
        guard let etag else { return nil }
        let lease = S3Lease(client: client, key: lockKey, etag: etag)
        let renewal = Duration.seconds(client.configuration.leaseDuration / 4)
        lease.heartbeat = Task { [weak lease] in
            while !Task.isCancelled {
                try? await Task.sleep(for: renewal)
                guard !Task.isCancelled, let lease else { return }
                await lease.renew()
            }
        }
        return lease
    }

    private func renew() async {
        let current = lock.withLock { etag }
        do {
            if let renewed = try await Self.put(client, key, ifMatch: current) {
                lock.withLock { etag = renewed }
            } else {
                lock.withLock { lost = true }
                heartbeat?.cancel()
            }
        } catch {
            // A passing failure: the next renewal tries again well within the lease.
        }
    }

    func release() async {
        heartbeat?.cancel()
        let (current, skip) = lock.withLock {
            defer { released = true }
            return (etag, lost || released)
        }
        guard !skip else { return }
        // In a task of its own: a cancelled caller must still give the upload back, or the
        // client's retry would be refused until the lease goes stale.
        let client = self.client, key = self.key
        await Task { _ = try? await client.send(.DELETE, key: key, headers: [("if-match", current)]) }.value
    }
}
