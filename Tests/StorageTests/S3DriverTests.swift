import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import OCI
@testable import Storage
import Testing

/// What only the S3 driver has: write sessions kept in the bucket (any replica continues
/// them), tails that a later part made stale, multipart uploads aborted with their path,
/// presigned URLs. Against the S3 server in BERTH_TEST_S3 (Ceph's radosgw, in scripts/test.sh).
@Suite struct S3DriverTests {
    let mib = 1 << 20

    func withBucket(_ body: (S3Configuration) async throws -> Void) async throws {
        guard let configuration = DriverKind.s3Configuration(bucket: "berth-s3-\(UUID().uuidString.prefix(13).lowercased())") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("BERTH_TEST_S3 is not set") }
            return
        }
        try await DriverKind.makeBucket(configuration)
        try await body(configuration)
        try? await S3Driver(configuration: configuration).delete(.root)
    }

    func session(_ driver: S3Driver, _ path: StoragePath, at offset: Int64?, _ bytes: ArraySlice<UInt8>) async throws -> Int64 {
        let writer = try await driver.writer(path, at: offset)
        let size = try await writer.write(Chunks(parts: [Array(bytes)]))
        try await writer.close()
        return size
    }

    /// Each PATCH on another replica (a new driver on the same bucket): the upload goes on
    /// where the last one stopped, small tails included.
    @Test func sessionsContinueOnAnotherReplica() async throws {
        try await withBucket { configuration in
            let bytes = randomBytes(12 * mib + 3, seed: 3)
            let path = try StoragePath("docker/registry/v2/repositories/a/_uploads/u1/data")
            let cuts = [0, 2 * mib, 2 * mib + 1, 8 * mib, bytes.count]
            for (start, end) in zip(cuts, cuts.dropFirst()) {
                let replica = try S3Driver(configuration: configuration)
                if start > 0 { #expect(try await replica.writtenSize(path) == Int64(start)) }
                #expect(try await session(replica, path, at: Int64(start), bytes[start..<end]) == Int64(end))
            }
            let last = try S3Driver(configuration: configuration)
            let writer = try await last.writer(path, at: Int64(bytes.count))
            let blob = try StoragePath("docker/registry/v2/blobs/sha256/aa/aaaa/data")
            try await writer.commit(to: blob)
            #expect(try await last.getContent(blob, maxSize: 64 * mib) == bytes)
            #expect(try await last.multipartUploads(prefix: last.client.key(path)).isEmpty)
        }
    }

    /// A session that uploaded a part but died before writing its tail (the commit record):
    /// the upload is as long as the record says, the next session uploads that part again,
    /// and the blob comes out whole.
    @Test func aPartUploadedWithoutItsRecordIsNotCounted() async throws {
        try await withBucket { configuration in
            let driver = try S3Driver(configuration: configuration)
            let bytes = randomBytes(13 * mib, seed: 9)
            let path = try StoragePath("up/crash/data")
            #expect(try await session(driver, path, at: 0, bytes[0..<(3 * mib)]) == Int64(3 * mib))
            do {
                let writer = try await driver.writer(path, at: Int64(3 * mib))
                _ = try await writer.write(Chunks(parts: [Array(repeating: 0xEE, count: 8 * mib)]))
                // No close: the process is gone with its lease (released here so the test need
                // not wait a lease period).
            }
            var reopened: (any StorageWriter)?
            for _ in 0..<50 where reopened == nil {
                reopened = try? await driver.writer(path, at: nil)
                if reopened == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let writer = try #require(reopened)
            #expect(writer.size == Int64(3 * mib))
            #expect(try await writer.write(Chunks(parts: [Array(bytes[(3 * mib)...])])) == Int64(bytes.count))
            try await writer.commit(to: path)
            #expect(try await driver.getContent(path, maxSize: 64 * mib) == bytes)
        }
    }

    /// Tails an earlier Berth wrote (a part count, no record) are still continued: through
    /// ListMultipartUploads and ListParts, then rewritten with a record.
    @Test func legacyTailsAreContinued() async throws {
        try await withBucket { configuration in
            let driver = try S3Driver(configuration: configuration)
            let bytes = randomBytes(14 * mib, seed: 4)
            let path = try StoragePath("up/legacy/data")
            let key = driver.client.key(path)
            let id = try await driver.createMultipartUpload(key)
            let part = try await driver.client.send(.PUT, key: key, query: [("partNumber", "1"), ("uploadId", id)],
                                                    body: ByteBuffer(bytes: bytes[0..<(10 * mib)]))
            #expect(part.etag != nil)
            _ = try await driver.client.send(.PUT, key: key, headers: [(S3Writer.partsMetadata, "1")],
                                             body: ByteBuffer(bytes: bytes[(10 * mib)..<(11 * mib)]))
            #expect(try await driver.writtenSize(path) == Int64(11 * mib))
            #expect(try await session(driver, path, at: Int64(11 * mib), bytes[(11 * mib)..<(12 * mib)]) == Int64(12 * mib))
            let head = try #require(try await driver.head(key))
            #expect(S3Writer.State.record(head)?.partCount == 1)
            let writer = try await driver.writer(path, at: Int64(12 * mib))
            _ = try await writer.write(Chunks(parts: [Array(bytes[(12 * mib)...])]))
            try await writer.commit(to: path)
            #expect(try await driver.getContent(path, maxSize: 64 * mib) == bytes)
        }
    }

    /// `encrypt` (with `keyid`: SSE-KMS, when the server has a key: BERTH_TEST_S3_KMS_KEY)
    /// and `storageclass` reach every object Berth writes: small files, blobs committed from
    /// one part, and blobs completed from a multipart upload and moved.
    @Test func encryptionAndStorageClassReachEveryObject() async throws {
        try await withBucket { base in
            var configuration = base
            configuration.encrypt = true
            configuration.keyID = ProcessInfo.processInfo.environment["BERTH_TEST_S3_KMS_KEY"]
            configuration.storageClass = "REDUCED_REDUNDANCY"
            let driver = try S3Driver(configuration: configuration)
            let small = try StoragePath("docker/registry/v2/repositories/a/_layers/sha256/x/link")
            try await driver.putContent(small, [1])
            var written = [small]
            for (n, count) in [mib, 12 * mib].enumerated() {
                let upload = try StoragePath("docker/registry/v2/repositories/a/_uploads/e\(n)/data")
                let writer = try await driver.writer(upload, at: 0)
                _ = try await writer.write(Chunks(parts: [randomBytes(count, seed: UInt64(n))]))
                let blob = try StoragePath("docker/registry/v2/blobs/sha256/e\(n)/e\(n)/data")
                try await writer.commit(to: blob)
                written.append(blob)
            }
            for path in written {
                let head = try #require(try await driver.head(driver.client.key(path)))
                #expect(head.meta.first(name: "x-amz-server-side-encryption") == (configuration.keyID == nil ? "AES256" : "aws:kms"), "\(path)")
                #expect(head.meta.first(name: "x-amz-server-side-encryption-aws-kms-key-id") == configuration.keyID, "\(path)")
                #expect(try await driver.getContent(path, maxSize: 16 * mib).count > 0, "encrypted objects read back")
                #expect(head.meta.first(name: "x-amz-storage-class") == "REDUCED_REDUNDANCY", "\(path)")
            }
        }
    }

    @Test func deletingAnUploadAbortsItsMultipartUpload() async throws {
        try await withBucket { configuration in
            let driver = try S3Driver(configuration: configuration)
            let path = try StoragePath("docker/registry/v2/repositories/a/_uploads/u2/data")
            _ = try await session(driver, path, at: 0, randomBytes(6 * mib)[...])
            #expect(try await driver.multipartUploads(prefix: driver.client.key(path)).count == 1)
            try await driver.delete(try StoragePath("docker/registry/v2/repositories/a/_uploads/u2"))
            #expect(try await driver.multipartUploads(prefix: driver.client.rootPrefix).isEmpty)
            await #expect(throws: StorageError.self) { try await driver.writtenSize(path) }
        }
    }

    /// Distribution's key layout: `<rootdirectory>/docker/registry/v2/...` in the bucket.
    @Test func keysFollowDistributionsLayout() async throws {
        try await withBucket { configuration in
            let driver = try S3Driver(configuration: configuration)
            try await driver.putContent(try StoragePath("docker/registry/v2/repositories/a/_layers/x"), [1])
            let keys = try await driver.allKeys(prefix: "")
            #expect(keys == ["registry-v2/docker/registry/v2/repositories/a/_layers/x"])
        }
    }

    /// A presigned GET fetches the object without credentials, and the server checks its
    /// signature: an altered URL is refused. (radosgw verifies signatures; moto, usable
    /// with BERTH_TEST_S3 too, does not, so that part needs BERTH_TEST_S3_VERIFIES_SIGNATURES.)
    @Test func presignedURLsServeTheBlob() async throws {
        try await withBucket { configuration in
            let driver = try S3Driver(configuration: configuration)
            let path = try StoragePath("docker/registry/v2/blobs/sha256/ab/abcd/data")
            try await driver.putContent(path, Array("layer bytes".utf8))
            let url = try #require(try await driver.redirectURL(path, method: "GET"))
            #expect(try await driver.redirectURL(path, method: "PUT") == nil)
            let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(Array(data) == Array("layer bytes".utf8))
            #expect(url.contains("X-Amz-Expires=1200&"))
            if Self.serverVerifiesSignatures {
                for altered in [url.replacingOccurrences(of: "abcd/data", with: "abce/data"),
                                url.replacingOccurrences(of: "X-Amz-Expires=1200", with: "X-Amz-Expires=999999")] {
                    let (_, response) = try await URLSession.shared.data(from: URL(string: altered)!)
                    #expect((response as? HTTPURLResponse)?.statusCode == 403, "\(altered)")
                }
            }
        }
    }

    static var serverVerifiesSignatures: Bool {
        ProcessInfo.processInfo.environment["BERTH_TEST_S3_VERIFIES_SIGNATURES"] == "1"
    }

    /// Every request is signed with the configured key: with a wrong secret nothing is
    /// written and the error names the server's refusal (never the secret).
    @Test func aWrongSecretIsRefusedWithTheServersReason() async throws {
        try await withBucket { configuration in
            guard Self.serverVerifiesSignatures else { return }
            var wrong = configuration
            wrong.credentials = AWSCredentials(accessKey: DriverKind.s3Credentials.accessKey, secretKey: "not-the-secret")
            let path = try StoragePath("docker/registry/v2/repositories/a/_layers/x")
            do {
                try await S3Driver(configuration: wrong).putContent(path, [1])
                Issue.record("a write signed with the wrong secret was accepted")
            } catch {
                // radosgw with STS enabled answers AccessDenied (its STS engine has the last
                // word), AWS and radosgw without STS SignatureDoesNotMatch.
                #expect("\(error)".contains("403 SignatureDoesNotMatch") || "\(error)".contains("403 AccessDenied"), "\(error)")
                #expect(!"\(error)".contains("not-the-secret"))
            }
            await #expect(throws: StorageError.self) { try await S3Driver(configuration: configuration).stat(path) }
        }
    }

    /// The catalog on S3 comes from marker objects, one listing for all repositories; a
    /// repository another program wrote without a marker shows up after the next full walk.
    @Test func catalogComesFromMarkersAndFullWalksFindTheRest() async throws {
        try await withBucket { configuration in
            let driver = try S3Driver(configuration: configuration)
            let store = RegistryStore(driver: driver)
            for name in ["team/a", "team/b"] {
                let repository = try RepositoryName(name)
                let id = try await store.startUpload(repository)
                _ = try await store.appendUpload(repository, id, at: 0, from: Chunks(parts: [Array(name.utf8)]))
                _ = try await store.completeUpload(repository, id, digest: Digest.compute(Array(name.utf8)))
            }
            #expect(try await driver.listFiles(under: try StoragePath("berth/catalog")) == ["team/a/_repository", "team/b/_repository"])
            // The first catalog ever asked for walks the tree once and records it complete.
            #expect(try await store.catalog(after: nil, limit: 10).names == ["team/a", "team/b"])
            #expect(try await driver.exists(try StoragePath("berth/catalog-complete")))
            // Distribution writes a repository into the bucket: no marker.
            try await driver.putContent(try StoragePath("docker/registry/v2/repositories/dist/app/_layers/sha256/\(String(repeating: "a", count: 64))/link"), [1])
            let other = RegistryStore(driver: try S3Driver(configuration: configuration))
            #expect(try await other.catalog(after: nil, limit: 10).names == ["team/a", "team/b"])
            try await driver.delete(try StoragePath("berth/catalog-complete"))
            let later = RegistryStore(driver: try S3Driver(configuration: configuration))
            #expect(try await later.catalog(after: nil, limit: 10).names == ["dist/app", "team/a", "team/b"])
            #expect(try await driver.exists(try StoragePath("berth/catalog/dist/app/_repository")))
        }
    }

    /// One writer per upload across replicas: a live holder (renewing its lease) is never
    /// taken over; a dead one's lease is, once unrenewed for the lease duration.
    @Test func leasesAreTakenOverOnlyWhenStale() async throws {
        try await withBucket { base in
            var configuration = base
            configuration.leaseDuration = 1
            let driver = try S3Driver(configuration: configuration)
            let path = try StoragePath("up/lease/data")
            let live = try await driver.writer(path, at: 0)
            try await Task.sleep(for: .seconds(2.5))
            await #expect(throws: StorageError.invalidOffset(expected: 0, actual: 0)) { _ = try await driver.writer(path, at: 0) }
            try await live.close()
            // A replica killed while it held the lease: its lease object stays behind.
            let dead = try StoragePath("up/dead/data")
            _ = try await driver.client.send(.PUT, key: S3Lease.lockKey(driver.client, for: driver.client.key(dead)), body: ByteBuffer(string: "dead"))
            await #expect(throws: StorageError.self) { _ = try await driver.writer(dead, at: 0) }
            try await Task.sleep(for: .seconds(2.5))
            let taken = try await driver.writer(dead, at: 0)
            #expect(try await taken.write(Chunks(parts: [[1, 2]])) == 2)
            try await taken.commit(to: dead)
            #expect(try await driver.getContent(dead) == [1, 2])
        }
    }
}
