import Foundation
import NIOCore
import OCI
@testable import Storage
import Testing

/// The registry's content model, run against every storage driver.
@Suite struct RegistryStoreSuite {
    let repo = try! RepositoryName("team/app")

    func push(_ store: RegistryStore, _ repo: RepositoryName, _ bytes: [UInt8], algorithm: DigestAlgorithm = .sha256) async throws -> Digest {
        let id = try await store.startUpload(repo)
        _ = try await store.appendUpload(repo, id, at: 0, from: Chunks(parts: [bytes]))
        let digest = Digest.compute(bytes, algorithm: algorithm)
        _ = try await store.completeUpload(repo, id, digest: digest)
        return digest
    }

    func imageManifest(config: Digest, configSize: Int, layers: [(Digest, Int)], subject: Digest? = nil, artifactType: String? = nil) -> [UInt8] {
        var json = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","#
        if let artifactType { json += #""artifactType":"\#(artifactType)","# }
        json += #""config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(config)","size":\#(configSize)},"#
        json += #""layers":[\#(layers.map { #"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#($0.0)","size":\#($0.1)}"# }.joined(separator: ","))]"#
        if let subject { json += #","subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(subject)","size":1}"# }
        return Array((json + "}").utf8)
    }

    @Test(arguments: DriverKind.allCases)
    func chunkedUploadBecomesALinkedBlob(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let store = RegistryStore(driver: try make())
            let bytes = randomBytes(300_000)
            let id = try await store.startUpload(repo)
            #expect(try await store.appendUpload(repo, id, at: 0, from: Chunks(parts: [Array(bytes[..<100_000])])) == 100_000)
            await #expect(throws: RegistryError(.rangeInvalid, message: "invalid content range: upload is at offset 100000, chunk starts at 0")) {
                _ = try await store.appendUpload(repo, id, at: 0, from: Chunks(parts: [[1]]))
            }
            #expect(try await store.appendUpload(repo, id, at: 100_000, from: Chunks(parts: [Array(bytes[100_000...])])) == 300_000)
            let digest = Digest.compute(bytes)
            #expect(try await store.completeUpload(repo, id, digest: digest) == 300_000)
            #expect(try await store.blobSize(repo, digest) == 300_000)
            var back: [UInt8] = []
            try await store.readBlob(digest, range: nil) { back += Array($0.readableBytesView) }
            #expect(back == bytes)
            await #expect(throws: RegistryError.self) { try await store.uploadStatus(repo, id) }
            // Linked only where it was pushed.
            await #expect(throws: RegistryError.self) { try await store.blobSize(try RepositoryName("other"), digest) }
        }
    }

    /// Each request of a chunked upload on another replica (a new store on the same
    /// storage): the hash goes on from the state the previous one saved, where Distribution
    /// keeps it, and the final PUT takes the digest from that state instead of reading the
    /// upload back.
    @Test(arguments: DriverKind.allCases)
    func replicasContinueTheHashFromTheSavedState(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let bytes = randomBytes(300_000, seed: 21)
            func push(_ id: UploadID) async throws {
                for (start, end) in [(0, 100_000), (100_000, 250_000), (250_000, 300_000)] {
                    let replica = RegistryStore(driver: try make())
                    #expect(try await replica.appendUpload(repo, id, at: Int64(start), from: Chunks(parts: [Array(bytes[start..<end])])) == Int64(end))
                    var expected = ResumableSHA256()
                    bytes[..<end].withUnsafeBytes { expected.update(bufferPointer: $0) }
                    #expect(try await replica.driver.getContent(Layout.uploadHashState(repo, id, offset: Int64(end))) == expected.marshaled())
                }
            }
            let digest = Digest.compute(bytes)
            let id = try await RegistryStore(driver: try make()).startUpload(repo)
            try await push(id)
            #expect(try await RegistryStore(driver: try make()).completeUpload(repo, id, digest: digest) == 300_000)
            #expect(try await RegistryStore(driver: try make()).blobSize(repo, digest) == 300_000)

            // Proof that the data was not read back: a saved state of other bytes is a mismatch.
            let other = try await RegistryStore(driver: try make()).startUpload(repo)
            try await push(other)
            var forged = ResumableSHA256()
            randomBytes(300_000, seed: 22).withUnsafeBytes { forged.update(bufferPointer: $0) }
            let replica = RegistryStore(driver: try make())
            try await replica.driver.putContent(Layout.uploadHashState(repo, other, offset: 300_000), forged.marshaled())
            await #expect(throws: RegistryError.self) { _ = try await replica.completeUpload(repo, other, digest: digest) }
        }
    }

    /// Bytes a mirror's fetch has hashed already: the upload keeps the caller's state (saved
    /// where a replica finds it) instead of hashing them again, and a later append goes on
    /// from it; a state that does not cover exactly the upload's bytes is ignored, and the
    /// commit then reads the upload back.
    @Test(arguments: DriverKind.allCases)
    func anAppendHashedAlreadyKeepsTheCallersState(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let store = RegistryStore(driver: try make())
            let bytes = randomBytes(300_000, seed: 31)
            var prefixState = ResumableSHA256()
            bytes[..<200_000].withUnsafeBytes { prefixState.update(bufferPointer: $0) }
            let state = prefixState
            let id = try await store.startUpload(repo)
            #expect(try await store.appendUpload(repo, id, at: 0, from: Chunks(parts: [Array(bytes[..<200_000])]), hashedAlready: { state }) == 200_000)
            #expect(try await store.driver.getContent(Layout.uploadHashState(repo, id, offset: 200_000)) == state.marshaled())
            #expect(try await store.appendUpload(repo, id, at: 200_000, from: Chunks(parts: [Array(bytes[200_000...])])) == 300_000)
            #expect(try await store.completeUpload(repo, id, digest: Digest.compute(bytes)) == 300_000)

            // Proof the storage took the caller's word: a state of other bytes is a mismatch at the commit.
            var forged = ResumableSHA256()
            randomBytes(200_000, seed: 32).withUnsafeBytes { forged.update(bufferPointer: $0) }
            let lied = forged
            let other = try await store.startUpload(repo)
            _ = try await store.appendUpload(repo, other, at: 0, from: Chunks(parts: [Array(bytes[..<200_000])]), hashedAlready: { lied })
            await #expect(throws: RegistryError.self) { _ = try await store.completeUpload(repo, other, digest: Digest.compute(Array(bytes[..<200_000]))) }

            // A state of fewer bytes than were written (or none) is not kept: the commit reads the data.
            let short = try await store.startUpload(repo)
            _ = try await store.appendUpload(repo, short, at: 0, from: Chunks(parts: [Array(bytes[..<200_000]), Array(bytes[200_000...])]),
                                             hashedAlready: { state })
            #expect(try await !store.driver.exists(Layout.uploadHashState(repo, short, offset: 300_000)))
            #expect(try await !store.driver.exists(Layout.uploadHashState(repo, short, offset: 200_000)))
            #expect(try await store.completeUpload(repo, short, digest: Digest.compute(bytes)) == 300_000)

            // Nor a state of more bytes, or none at all.
            var whole = ResumableSHA256()
            bytes.withUnsafeBytes { whole.update(bufferPointer: $0) }
            let more = whole
            for claim: @Sendable () -> ResumableSHA256? in [{ more }, { nil }] {
                let upload = try await store.startUpload(repo)
                _ = try await store.appendUpload(repo, upload, at: 0, from: Chunks(parts: [Array(bytes[..<200_000])]), hashedAlready: claim)
                #expect(try await !store.driver.exists(Layout.uploadHashState(repo, upload, offset: 200_000)))
                #expect(try await store.completeUpload(repo, upload, digest: Digest.compute(Array(bytes[..<200_000]))) == 200_000)
            }

            // Into an upload holding bytes already, a caller's state vouches for nothing: the
            // bytes are hashed as by any append (were the forged state kept, the commit would fail).
            let resumed = try await store.startUpload(repo)
            _ = try await store.appendUpload(repo, resumed, at: 0, from: Chunks(parts: [Array(bytes[..<100_000])]))
            var claimed = ResumableSHA256()
            randomBytes(300_000, seed: 33).withUnsafeBytes { claimed.update(bufferPointer: $0) }
            let forgedWhole = claimed
            _ = try await store.appendUpload(repo, resumed, at: 100_000, from: Chunks(parts: [Array(bytes[100_000...])]), hashedAlready: { forgedWhole })
            #expect(try await store.completeUpload(repo, resumed, digest: Digest.compute(bytes)) == 300_000)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func wrongDigestStoresNothing(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let driver = try make()
            let store = RegistryStore(driver: driver)
            let id = try await store.startUpload(repo)
            _ = try await store.appendUpload(repo, id, at: 0, from: Chunks(parts: [[1, 2, 3]]))
            let claimed = Digest.compute([9, 9, 9])
            do {
                _ = try await store.completeUpload(repo, id, digest: claimed)
                Issue.record("a wrong digest was accepted")
            } catch let error as RegistryError {
                #expect(error.code == .digestInvalid)
            }
            #expect(try await driver.exists(Layout.blobData(claimed)) == false)
            #expect(try await driver.exists(Layout.blobData(Digest.compute([1, 2, 3]))) == false)
            #expect(try await driver.listIfPresent(Layout.uploads(repo)).isEmpty)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func uploadsResumeAfterRestartAndSupportSHA512(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let bytes = randomBytes(50_000, seed: 7)
            let first = RegistryStore(driver: try make())
            let id = try await first.startUpload(repo)
            // The client disconnects after one chunk; what arrived stays.
            await #expect(throws: Chunks.DisconnectError.self) {
                _ = try await first.appendUpload(repo, id, at: 0, from: Chunks(parts: [Array(bytes[..<20_000]), [0]], failAfter: 1))
            }
            let restarted = RegistryStore(driver: try make())
            let status = try await restarted.uploadStatus(repo, id)
            #expect(status.size == 20_000)
            #expect(status.startedAt != nil)
            _ = try await restarted.appendUpload(repo, id, at: status.size, from: Chunks(parts: [Array(bytes[20_000...])]))
            let digest = Digest.compute(bytes, algorithm: .sha512)
            _ = try await restarted.completeUpload(repo, id, digest: digest)
            #expect(try await restarted.blobSize(repo, digest) == 50_000)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func concurrentUploadsOfOneBlobAreSafe(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let store = RegistryStore(driver: try make())
            let bytes = randomBytes(200_000, seed: 3)
            let repo = self.repo
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let id = try await store.startUpload(repo)
                        _ = try await store.appendUpload(repo, id, at: 0, from: Chunks(parts: [Array(bytes[..<100_000]), Array(bytes[100_000...])]))
                        _ = try await store.completeUpload(repo, id, digest: Digest.compute(bytes))
                    }
                }
                try await group.waitForAll()
            }
            var back: [UInt8] = []
            try await store.readBlob(Digest.compute(bytes), range: nil) { back += Array($0.readableBytesView) }
            #expect(back == bytes)
        }
    }

    /// Sixteen clients push the same image (the same blobs, in chunks, and the same tags) at
    /// once: every write they were told succeeded reads back whole.
    @Test(arguments: DriverKind.allCases)
    func sixteenPushersOfOneImage(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let store = RegistryStore(driver: try make())
            let layers = [randomBytes(300_000, seed: 11), randomBytes(70_000, seed: 12)]
            let config = Array(#"{"architecture":"amd64","os":"linux"}"#.utf8)
            let blobs = layers + [config]
            let manifest = imageManifest(config: Digest.compute(config), configSize: config.count,
                                         layers: layers.map { (Digest.compute($0), $0.count) })
            let repo = self.repo
            try await withThrowingTaskGroup(of: Void.self) { group in
                for pusher in 0..<16 {
                    group.addTask {
                        for blob in blobs {
                            let id = try await store.startUpload(repo)
                            let cut = blob.count / 3 + pusher
                            _ = try await store.appendUpload(repo, id, at: 0, from: Chunks(parts: [Array(blob[..<cut])]))
                            _ = try await store.appendUpload(repo, id, at: Int64(cut), from: Chunks(parts: [Array(blob[cut...])]))
                            _ = try await store.completeUpload(repo, id, digest: Digest.compute(blob))
                        }
                        for tag in ["latest", "v1"] {
                            _ = try await store.putManifest(repo, .tag(try Tag(tag)), bytes: manifest, contentType: MediaType.ociManifest)
                        }
                    }
                }
                try await group.waitForAll()
            }
            for blob in blobs {
                var back: [UInt8] = []
                try await store.readBlob(Digest.compute(blob), range: nil) { back += Array($0.readableBytesView) }
                #expect(back == blob)
            }
            for tag in ["latest", "v1"] {
                #expect(try await store.manifest(repo, .tag(try Tag(tag))).bytes == manifest)
            }
            #expect(try await store.revisionDigests(repo) == [Digest.compute(manifest)])
        }
    }

    @Test(arguments: DriverKind.allCases)
    func manifestsTagsAndDeletes(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let driver = try make()
            let store = RegistryStore(driver: driver)
            let config = Array(#"{"architecture":"amd64","os":"linux"}"#.utf8)
            let layer = randomBytes(1000)
            let configDigest = try await push(store, repo, config)
            let layerDigest = try await push(store, repo, layer)
            let manifest = imageManifest(config: configDigest, configSize: config.count, layers: [(layerDigest, layer.count)])

            // Missing blobs are refused and leave no trace.
            let other = try RepositoryName("other/app")
            do {
                _ = try await store.putManifest(other, .tag(try Tag("v1")), bytes: manifest, contentType: MediaType.ociManifest)
                Issue.record("manifest with unknown blobs accepted")
            } catch let error as RegistryError {
                #expect(error.code == .manifestBlobUnknown)
            }
            #expect(try await driver.exists(Layout.repository(other)) == false)

            // A digest reference that does not match the body is refused.
            await #expect(throws: RegistryError.self) {
                _ = try await store.putManifest(repo, .digest(Digest.compute([1])), bytes: manifest, contentType: MediaType.ociManifest)
            }

            let result = try await store.putManifest(repo, .tag(try Tag("v1")), bytes: manifest, contentType: MediaType.ociManifest)
            #expect(result.digest == Digest.compute(manifest))
            _ = try await store.putManifest(repo, .tag(try Tag("v2")), bytes: manifest, contentType: MediaType.ociManifest)
            let byTag = try await store.manifest(repo, .tag(try Tag("v1")))
            #expect(byTag.bytes == manifest)
            #expect(byTag.mediaType == MediaType.ociManifest)
            #expect(try await store.manifest(repo, .digest(result.digest)).digest == result.digest)
            #expect(try await store.tags(repo) == ["v1", "v2"])
            // Distribution's layout, exactly.
            #expect(try await driver.getContent(Layout.tagCurrentLink(repo, try Tag("v1"))) == Array(result.digest.description.utf8))
            #expect(try await driver.exists(Layout.tagIndexLink(repo, try Tag("v1"), result.digest)))

            try await store.deleteManifest(repo, .tag(try Tag("v1")))
            #expect(try await store.tags(repo) == ["v2"])
            #expect(try await store.manifest(repo, .digest(result.digest)).digest == result.digest)
            try await store.deleteManifest(repo, .digest(result.digest))
            #expect(try await store.tags(repo) == [])
            await #expect(throws: RegistryError.self) { try await store.manifest(repo, .digest(result.digest)) }
            await #expect(throws: RegistryError.self) { try await store.deleteManifest(repo, .tag(try Tag("v1"))) }
            await #expect(throws: RegistryError.self) { try await store.tags(try RepositoryName("never/pushed")) }
        }
    }

    @Test(arguments: DriverKind.allCases)
    func concurrentTagUpdatesLeaveOneValidTag(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let store = RegistryStore(driver: try make())
            let empty = Array("{}".utf8)
            let config = try await push(store, repo, empty)
            let manifests = (0..<12).map { i in
                imageManifest(config: config, configSize: 2, layers: [], artifactType: "application/x-\(i)")
            }
            let repo = self.repo
            try await withThrowingTaskGroup(of: Void.self) { group in
                for manifest in manifests {
                    group.addTask {
                        _ = try await store.putManifest(repo, .tag(try Tag("moving")), bytes: manifest, contentType: MediaType.ociManifest)
                    }
                }
                try await group.waitForAll()
            }
            let current = try await store.manifest(repo, .tag(try Tag("moving")))
            #expect(manifests.contains(current.bytes))
            #expect(try await store.revisionDigests(repo).count == 12)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func referrersFollowPushesAndDeletes(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let store = RegistryStore(driver: try make())
            let empty = Array("{}".utf8)
            let emptyDigest = try await push(store, repo, empty)
            let subject = imageManifest(config: emptyDigest, configSize: 2, layers: [])
            let subjectDigest = try await store.putManifest(repo, .tag(try Tag("base")), bytes: subject, contentType: MediaType.ociManifest).digest
            let sbom = imageManifest(config: emptyDigest, configSize: 2, layers: [], subject: subjectDigest, artifactType: "application/spdx+json")
            let sig = imageManifest(config: emptyDigest, configSize: 2, layers: [], subject: subjectDigest, artifactType: "application/vnd.dev.cosign")
            let r1 = try await store.putManifest(repo, .digest(Digest.compute(sbom)), bytes: sbom, contentType: MediaType.ociManifest)
            #expect(r1.subject == subjectDigest)
            _ = try await store.putManifest(repo, .digest(Digest.compute(sig)), bytes: sig, contentType: MediaType.ociManifest)

            // A fresh store (a restart) rebuilds the index from the layout.
            let restarted = RegistryStore(driver: store.driver)
            for s in [store, restarted] {
                #expect(try await s.referrers(repo, subject: subjectDigest, artifactType: nil).count == 2)
                let filtered = try await s.referrers(repo, subject: subjectDigest, artifactType: "application/spdx+json")
                #expect(filtered.map(\.digest) == [Digest.compute(sbom)])
                #expect(filtered.first?.artifactType == "application/spdx+json")
            }
            try await store.deleteManifest(repo, .digest(Digest.compute(sig)))
            #expect(try await store.referrers(repo, subject: subjectDigest, artifactType: nil).count == 1)
            // The other instance re-checks the layout and does not report the deleted one.
            #expect(try await restarted.referrers(repo, subject: subjectDigest, artifactType: nil).count == 1)
            #expect(try await store.referrers(repo, subject: Digest.compute([7]), artifactType: nil).isEmpty)
            // A referrer pushed through one instance is seen at once by another sharing the storage.
            let late = imageManifest(config: emptyDigest, configSize: 2, layers: [], subject: subjectDigest, artifactType: "application/x-late")
            _ = try await store.putManifest(repo, .digest(Digest.compute(late)), bytes: late, contentType: MediaType.ociManifest)
            #expect(try await restarted.referrers(repo, subject: subjectDigest, artifactType: "application/x-late").count == 1)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func catalogPagesAndSeesOtherWriters(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let driver = try make()
            let store = RegistryStore(driver: driver)
            for name in ["b", "a/x", "a", "c/d/e", "a/y"] {
                _ = try await push(store, try RepositoryName(name), [1])
            }
            let first = try await store.catalog(after: nil, limit: 2)
            #expect(first.names == ["a", "a/x"])
            #expect(first.more)
            let second = try await store.catalog(after: "a/x", limit: 10)
            #expect(second.names == ["a/y", "b", "c/d/e"])
            #expect(!second.more)
            // Another process writes the same layout: a new walk sees it.
            let other = RegistryStore(driver: driver)
            _ = try await push(other, try RepositoryName("zzz"), [2])
            try await Task.sleep(for: .seconds(2.2))
            #expect(try await store.catalog(after: nil, limit: 100).names.last == "zzz")
        }
    }

    /// A repository delete takes its tags, manifests (tagged or not), layer links and uploads
    /// and takes it out of the catalog; a repository nested under its name stays, and so do
    /// the blobs until garbage collection.
    @Test(arguments: DriverKind.allCases)
    func aRepositoryDeleteTakesEverythingOfItAndNothingElse(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let store = RegistryStore(driver: try make())
            let nested = try RepositoryName("team/app/cache")
            var manifests: [Digest] = []
            for (i, repository) in [repo, repo, repo, nested].enumerated() {
                let config = try await push(store, repository, Array("config \(i)".utf8))
                let layer = try await push(store, repository, Array("layer \(i)".utf8))
                let manifest = imageManifest(config: config, configSize: "config \(i)".utf8.count, layers: [(layer, "layer \(i)".utf8.count)])
                let reference: Reference = i == 2 ? .digest(Digest.compute(manifest)) : .tag(try Tag("v\(i)"))
                _ = try await store.putManifest(repository, reference, bytes: manifest, contentType: MediaType.ociManifest)
                if repository == repo { manifests.append(Digest.compute(manifest)) }
            }
            let unfinished = try await store.startUpload(repo)
            let layer0 = Digest.compute(Array("layer 0".utf8))
            #expect(try await store.catalog(after: nil, limit: 100).names == ["team/app", "team/app/cache"])

            let deleted = try await store.deleteRepository(repo)
            #expect(deleted.tags == ["v0", "v1"])
            #expect(Set(deleted.manifests) == Set(manifests), "the untagged manifest too")
            #expect(try await store.catalog(after: nil, limit: 100).names == ["team/app/cache"])
            await #expect(throws: RegistryError.self) { _ = try await store.tags(repo) }
            await #expect(throws: RegistryError.self) { _ = try await store.blobSize(repo, layer0) }
            await #expect(throws: (any Error).self) { _ = try await store.uploadStatus(repo, unfinished) }
            #expect(try await store.tags(nested) == ["v3"], "the nested repository is untouched")
            var data: [UInt8] = []
            try await store.readBlob(layer0, range: nil) { data += Array($0.readableBytesView) }
            #expect(data == Array("layer 0".utf8), "blobs wait for garbage collection")
            let again = RegistryStore(driver: try make())
            #expect(try await again.catalog(after: nil, limit: 100).names == ["team/app/cache"], "a new process's catalog agrees")
            await #expect(throws: RegistryError(.nameUnknown, detailJSON: RegistryError.detail(["name": "team/app"]))) {
                _ = try await store.deleteRepository(repo)
            }
            // Pushing to the name again starts a new, empty repository.
            _ = try await push(store, repo, [7])
            #expect(try await store.catalog(after: nil, limit: 100).names == ["team/app", "team/app/cache"])
        }
    }

    @Test(arguments: DriverKind.allCases)
    func readOnlyAndDeleteSwitches(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let driver = try make()
            let writable = RegistryStore(driver: driver, options: .init(deleteEnabled: false))
            let digest = try await push(writable, repo, [5])
            await #expect(throws: RegistryError.self) { try await writable.deleteBlob(repo, digest) }
            let readOnly = RegistryStore(driver: driver, options: .init(readOnly: true))
            await #expect(throws: RegistryError.self) { _ = try await readOnly.startUpload(repo) }
            #expect(try await readOnly.blobSize(repo, digest) == 1)
            let deletable = RegistryStore(driver: driver)
            try await deletable.deleteBlob(repo, digest)
            await #expect(throws: RegistryError.self) { try await deletable.blobSize(repo, digest) }
        }
    }

    @Test(arguments: DriverKind.allCases)
    func purgesOnlyOldUploads(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let store = RegistryStore(driver: try make())
            let old = try await store.startUpload(repo)
            #expect(try await store.purgeUploads(startedBefore: Date(timeIntervalSinceNow: 3600), dryRun: true).count == 1)
            #expect(try await store.uploadStatus(repo, old).size == 0)
            #expect(try await store.purgeUploads(startedBefore: Date(timeIntervalSinceNow: -3600), dryRun: false).isEmpty)
            #expect(try await store.purgeUploads(startedBefore: Date(timeIntervalSinceNow: 3600), dryRun: false).count == 1)
            await #expect(throws: RegistryError.self) { try await store.uploadStatus(repo, old) }

            // An upload Distribution started: `startedat` in Go's RFC 3339 with nanoseconds.
            let theirs = try await store.startUpload(repo)
            try await store.driver.putContent(Layout.uploadStartedAt(repo, theirs), Array("2026-01-02T03:04:05.123456789Z\n".utf8))
            #expect(try await store.uploadStatus(repo, theirs).startedAt == Date(timeIntervalSince1970: 1_767_323_045.123))
            #expect(try await store.purgeUploads(startedBefore: Date(timeIntervalSince1970: 1_767_323_046), dryRun: false).count == 1)
        }
    }
}

@Suite struct LayerURLPolicyTests {
    @Test func foreignLayersNeedAnAllowedURL() async throws {
        let policy = LayerURLPolicy(allow: ["^https://mcr\\.microsoft\\.com/"], deny: ["/forbidden/"])
        #expect(policy.permits("https://mcr.microsoft.com/layer.tar"))
        #expect(!policy.permits("https://mcr.microsoft.com/forbidden/layer.tar"))
        #expect(!policy.permits("https://example.com/layer.tar"))
        #expect(!policy.permits("https://mcr.microsoft.com/layer.tar#frag"))
        #expect(!policy.permits("ftp://mcr.microsoft.com/layer.tar"))
        // With no allow list, any http(s) URL without a fragment (the conformance suite's case).
        #expect(LayerURLPolicy().permits("https://mcr.microsoft.com/layer.tar"))
        #expect(!LayerURLPolicy().permits("https://mcr.microsoft.com/layer.tar#x"))
        #expect(!LayerURLPolicy().permits("file:///etc/passwd"))

        let repo = try RepositoryName("foreign/layers")
        let driver = InMemoryDriver()
        let config = Array("{}".utf8)
        let configDigest = Digest.compute(config)
        func manifest(_ url: String, type: String) -> [UInt8] {
            Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(configDigest)","size":2},"layers":[{"mediaType":"\#(type)","digest":"\#(Digest.compute([1]))","size":1,"urls":["\#(url)"]}]}"#.utf8)
        }
        let foreign = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        let docker = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
        for (options, url, type, accepted) in [(RegistryOptions(layerURLPolicy: policy), "https://mcr.microsoft.com/l", foreign, true),
                                               (RegistryOptions(layerURLPolicy: policy), "https://example.com/l", foreign, false),
                                               (RegistryOptions(), "https://mcr.microsoft.com/l", foreign, true),
                                               (RegistryOptions(), "https://mcr.microsoft.com/l", docker, true),
                                               (RegistryOptions(), "https://mcr.microsoft.com/l#f", foreign, false),
                                               // An ordinary layer must be present, URLs or not.
                                               (RegistryOptions(), "https://mcr.microsoft.com/l", "application/vnd.oci.image.layer.v1.tar+gzip", false)] {
            let store = RegistryStore(driver: driver, options: options)
            let id = try await store.startUpload(repo)
            _ = try await store.appendUpload(repo, id, at: 0, from: Chunks(parts: [config]))
            _ = try await store.completeUpload(repo, id, digest: configDigest)
            let result = try? await store.putManifest(repo, .tag(try Tag("t")), bytes: manifest(url, type: type), contentType: MediaType.ociManifest)
            #expect((result != nil) == accepted, "\(url) \(type)")
        }
    }
}
