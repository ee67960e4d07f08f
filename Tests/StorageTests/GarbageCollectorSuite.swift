import Foundation
import NIOCore
import OCI
import Storage
import Testing

/// The garbage collector, run against every storage driver.
@Suite struct GarbageCollectorSuite {
    let helpers = RegistryStoreSuite()
    let repo = try! RepositoryName("team/app")
    let later = Date().addingTimeInterval(7200)

    struct Image {
        var manifest: Digest
        var blobs: [Digest]
    }

    func pushImage(_ store: RegistryStore, _ repo: RepositoryName, tag: String?, seed: UInt64,
                   subject: Digest? = nil) async throws -> Image {
        let config = Array(#"{"seed":\#(seed)}"#.utf8)
        let layer = randomBytes(5_000 + Int(seed), seed: seed)
        let configDigest = try await helpers.push(store, repo, config)
        let layerDigest = try await helpers.push(store, repo, layer)
        let bytes = helpers.imageManifest(config: configDigest, configSize: config.count,
                                          layers: [(layerDigest, layer.count)], subject: subject)
        let reference: Reference = try tag.map { .tag(try Tag($0)) } ?? .digest(Digest.compute(bytes))
        let result = try await store.putManifest(repo, reference, bytes: bytes, contentType: MediaType.ociManifest)
        return Image(manifest: result.digest, blobs: [configDigest, layerDigest])
    }

    func pushIndex(_ store: RegistryStore, _ repo: RepositoryName, tag: String, children: [Image]) async throws -> Digest {
        let entries = children.map { #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#($0.manifest)","size":1,"platform":{"os":"linux","architecture":"amd64"}}"# }
        let bytes = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\#(entries.joined(separator: ","))]}"#.utf8)
        return try await store.putManifest(repo, .tag(try Tag(tag)), bytes: bytes, contentType: MediaType.ociIndex).digest
    }

    func blobExists(_ driver: any StorageDriver, _ digest: Digest) async throws -> Bool {
        try await driver.exists(Layout.blobData(digest))
    }

    /// Every manifest still listed can be pulled completely.
    func expectConsistent(_ store: RegistryStore) async throws {
        for name in try await store.allRepositories() {
            let repository = try RepositoryName(name)
            for digest in try await store.revisionDigests(repository) {
                let stored = try await store.manifest(repository, .digest(digest))
                let parsed = try Manifest(parsing: stored.bytes, contentType: stored.mediaType)
                for blob in parsed.referencedBlobs where !ManifestOutline.isForeign(blob.mediaType, urls: blob.urls) {
                    let size = try? await store.blobSize(repository, blob.digest)
                    #expect(size != nil, "\(name)@\(digest) lost blob \(blob.digest)")
                }
                for child in parsed.manifests {
                    let present = try? await store.manifest(repository, .digest(child.digest))
                    #expect(present != nil, "\(name)@\(digest) lost child \(child.digest)")
                }
            }
            for tag in try await store.tags(repository) {
                let present = try? await store.manifest(repository, .tag(try Tag(tag)))
                #expect(present != nil, "\(name):\(tag) points at a missing manifest")
            }
        }
    }

    @Test(arguments: DriverKind.allCases)
    func sweepsOnlyUnreferencedBlobs(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let driver = try make()
            let store = RegistryStore(driver: driver, options: .init(deleteEnabled: true))
            let tagged = try await pushImage(store, repo, tag: "v1", seed: 1)
            let untagged = try await pushImage(store, repo, tag: nil, seed: 2)
            let orphan = try await helpers.push(store, repo, randomBytes(777, seed: 3))
            let shared = try await helpers.push(store, try RepositoryName("other"), randomBytes(10, seed: 4))

            let report = try await GarbageCollector(store: store, options: .init(gracePeriod: 3600, settleTime: 0, now: later)).run()
            #expect(report.deletedBlobs == [orphan.description, shared.description].sorted())
            #expect(report.bytesFreed == 787)
            #expect(report.deletedManifests.isEmpty)
            #expect(try await blobExists(driver, orphan) == false)
            for blob in tagged.blobs + untagged.blobs + [tagged.manifest, untagged.manifest] {
                #expect(try await blobExists(driver, blob))
            }
            // The deleted blob is unknown everywhere, so a later manifest naming it is refused.
            await #expect(throws: RegistryError.self) { try await store.blobSize(repo, orphan) }
            try await expectConsistent(store)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func youngBlobsAndDryRunsAreKept(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let driver = try make()
            let store = RegistryStore(driver: driver, options: .init(deleteEnabled: true))
            let orphan = try await helpers.push(store, repo, randomBytes(100, seed: 9))

            let young = try await GarbageCollector(store: store, options: .init(gracePeriod: 3600, settleTime: 0)).run()
            #expect(young.deletedBlobs.isEmpty)
            #expect(young.blobsTooYoung == 1)

            let dry = try await GarbageCollector(store: store, options: .init(dryRun: true, gracePeriod: 3600, now: later)).run()
            #expect(dry.deletedBlobs == [orphan.description])
            #expect(try await blobExists(driver, orphan))
            #expect(try await store.blobSize(repo, orphan) == 100)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func deleteUntaggedKeepsIndexChildrenAndReferrersOfKeptManifests(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let driver = try make()
            let store = RegistryStore(driver: driver, options: .init(deleteEnabled: true))
            let amd64 = try await pushImage(store, repo, tag: nil, seed: 10)
            let arm64 = try await pushImage(store, repo, tag: nil, seed: 11)
            let index = try await pushIndex(store, repo, tag: "multi", children: [amd64, arm64])
            let tagged = try await pushImage(store, repo, tag: "v1", seed: 12)
            let signature = try await pushImage(store, repo, tag: nil, seed: 13, subject: tagged.manifest)
            let untagged = try await pushImage(store, repo, tag: nil, seed: 14)
            let signatureOfUntagged = try await pushImage(store, repo, tag: nil, seed: 15, subject: untagged.manifest)
            let retagged = try await pushImage(store, repo, tag: "moving", seed: 16)
            _ = try await pushImage(store, repo, tag: "moving", seed: 17)

            let options = GarbageCollector.Options(deleteUntagged: true, gracePeriod: 3600, settleTime: 0, now: later)
            let report = try await GarbageCollector(store: store, options: options).run()
            let expectedGone = [untagged, signatureOfUntagged, retagged]
            #expect(Set(report.deletedManifests) == Set(expectedGone.map { "\(repo.value)@\($0.manifest)" }))
            for image in expectedGone {
                await #expect(throws: RegistryError.self) { try await store.manifest(repo, .digest(image.manifest)) }
                for blob in image.blobs { #expect(try await blobExists(driver, blob) == false) }
            }
            for image in [amd64, arm64, tagged, signature] {
                #expect(try await store.manifest(repo, .digest(image.manifest)).digest == image.manifest)
            }
            #expect(try await store.manifest(repo, .digest(index)).digest == index)
            let referrers = try await store.referrers(repo, subject: tagged.manifest, artifactType: nil)
            #expect(referrers.map(\.digest) == [signature.manifest])
            #expect(try await store.referrers(repo, subject: untagged.manifest, artifactType: nil).isEmpty)
            try await expectConsistent(store)

            // Untagged but recent manifests (an index's children pushed before the index) stay.
            let fresh = try await pushImage(store, repo, tag: nil, seed: 18)
            let second = try await GarbageCollector(store: store, options: .init(deleteUntagged: true, gracePeriod: 3600, settleTime: 0)).run()
            #expect(second.deletedManifests.isEmpty)
            #expect(try await store.manifest(repo, .digest(fresh.manifest)).digest == fresh.manifest)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func unreadableManifestStopsTheRunBeforeDeletingAnything(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let driver = try make()
            let store = RegistryStore(driver: driver, options: .init(deleteEnabled: true))
            let image = try await pushImage(store, repo, tag: "v1", seed: 30)
            let orphan = try await helpers.push(store, repo, randomBytes(50, seed: 31))
            try await driver.putContent(Layout.blobData(image.manifest), Array("not json".utf8))
            let fresh = RegistryStore(driver: driver, options: .init(deleteEnabled: true))
            await #expect(throws: GarbageCollectionError.self) {
                _ = try await GarbageCollector(store: fresh, options: .init(gracePeriod: 0, settleTime: 0, now: later)).run()
            }
            #expect(try await blobExists(driver, orphan))
        }
    }

    /// Pushes run while the collector works, with no grace period at all: new images must
    /// come out whole, and a manifest naming an old orphan blob either lands with that blob
    /// kept or is refused (the client then uploads the blob again), never half-stored.
    @Test(arguments: DriverKind.allCases)
    func pushesDuringACollectionAreNeverBroken(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let driver = try make()
            let store = RegistryStore(driver: driver, options: .init(deleteEnabled: true))
            var orphans: [(Digest, Int)] = []
            for seed in 100..<140 as Range<UInt64> {
                let bytes = randomBytes(2_000, seed: seed)
                orphans.append((try await helpers.push(store, repo, bytes), bytes.count))
            }
            let config = Array(#"{"c":1}"#.utf8)
            let configDigest = try await helpers.push(store, repo, config)
            try await Task.sleep(nanoseconds: 20_000_000)

            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                group.addTask {
                    let report = try await GarbageCollector(store: store, options: .init(gracePeriod: 0, settleTime: 0.2)).run()
                    return "gc deleted \(report.deletedBlobs.count) rescued \(report.rescuedBlobs.count)"
                }
                for (i, orphan) in orphans.enumerated() {
                    group.addTask {
                        try await Task.sleep(nanoseconds: UInt64(i) * 5_000_000)
                        if i.isMultiple(of: 2) {
                            _ = try await pushImage(store, try RepositoryName("busy/\(i)"), tag: "t", seed: 1_000 + UInt64(i))
                            return "pushed"
                        }
                        let bytes = helpers.imageManifest(config: configDigest, configSize: config.count, layers: [orphan])
                        do {
                            _ = try await store.putManifest(repo, .tag(try Tag("o\(i)")), bytes: bytes, contentType: MediaType.ociManifest)
                            return "reused"
                        } catch let error as RegistryError where error.code == .manifestBlobUnknown {
                            return "refused"
                        }
                    }
                }
                var all: [String] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            #expect(outcomes.filter { $0 == "pushed" }.count == 20)
            #expect(outcomes.filter { $0 == "reused" || $0 == "refused" }.count == 20)
            try await expectConsistent(RegistryStore(driver: driver, options: .init(deleteEnabled: true)))
        }
    }
}

/// Forwards to another driver, running `beforePut` before each `putContent`: a way to
/// interleave another process's work at an exact point of a write sequence.
struct InterleavingDriver: StorageDriver {
    let base: any StorageDriver
    let beforePut: @Sendable (StoragePath) async throws -> Void
    var name: String { "interleaving" }

    func getContent(_ path: StoragePath, maxSize: Int) async throws -> [UInt8] { try await base.getContent(path, maxSize: maxSize) }
    func putContent(_ path: StoragePath, _ content: [UInt8]) async throws {
        try await beforePut(path)
        try await base.putContent(path, content)
    }
    var walksCheaply: Bool { base.walksCheaply }
    func listFiles(under path: StoragePath) async throws -> [String] { try await base.listFiles(under: path) }
    func createContent(_ path: StoragePath, _ content: [UInt8], privately: Bool) async throws -> Bool {
        try await base.createContent(path, content, privately: privately)
    }
    func stat(_ path: StoragePath) async throws -> StorageFileInfo { try await base.stat(path) }
    func list(_ path: StoragePath) async throws -> [String] { try await base.list(path) }
    func move(from source: StoragePath, to destination: StoragePath) async throws { try await base.move(from: source, to: destination) }
    func delete(_ path: StoragePath) async throws { try await base.delete(path) }
    func read(_ path: StoragePath, range: Range<Int64>?, into consumer: (ByteBuffer) async throws -> Void) async throws {
        try await base.read(path, range: range, into: consumer)
    }
    func writer(_ path: StoragePath, at offset: Int64?) async throws -> any StorageWriter { try await base.writer(path, at: offset) }
    func writtenSize(_ path: StoragePath) async throws -> Int64 { try await base.writtenSize(path) }
}

extension GarbageCollectorSuite {
    /// The collector unlinks a layer after a manifest push validated it but before the push
    /// wrote its revision: the push must withdraw rather than store a manifest whose blob is
    /// about to be deleted.
    @Test func aPushThatLosesItsBlobMidwayWithdraws() async throws {
        let base = InMemoryDriver()
        let plain = RegistryStore(driver: base)
        let config = Array(#"{"c":2}"#.utf8), layer = randomBytes(3000, seed: 77)
        let configDigest = try await helpers.push(plain, repo, config)
        let layerDigest = try await helpers.push(plain, repo, layer)
        let bytes = helpers.imageManifest(config: configDigest, configSize: config.count, layers: [(layerDigest, layer.count)])
        let manifestDigest = Digest.compute(bytes)
        let revision = Layout.revisionLink(repo, manifestDigest)
        let interleaved = RegistryStore(driver: InterleavingDriver(base: base) { path in
            if path == revision { try await base.delete(Layout.layerLink(repo, layerDigest).parent!) }
        })
        await #expect(throws: RegistryError.self) {
            _ = try await interleaved.putManifest(repo, .tag(try Tag("v1")), bytes: bytes, contentType: MediaType.ociManifest)
        }
        #expect(try await base.exists(revision) == false)
        #expect(try await plain.resolveTag(repo, try Tag("v1")) == nil)
    }

    /// An index pushed, or a tag set, while untagged manifests are being deleted gets them back.
    @Test(arguments: DriverKind.allCases)
    func manifestsAnIndexOrTagReachesDuringTheRunAreRestored(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let driver = try make()
            let store = RegistryStore(driver: driver, options: .init(deleteEnabled: true))
            let child = try await pushImage(store, repo, tag: nil, seed: 60)
            let retagged = try await pushImage(store, repo, tag: nil, seed: 61)
            let options = GarbageCollector.Options(deleteUntagged: true, gracePeriod: 3600, settleTime: 1, now: later)
            async let report = GarbageCollector(store: store, options: options).run()
            // Wait for the collector to delete the child, then store an index listing it, as a
            // push that validated just before the delete would.
            while try await driver.exists(Layout.revisionLink(repo, child.manifest)) {
                try await Task.sleep(nanoseconds: 5_000_000)
            }
            let entry = #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(child.manifest)","size":1}"#
            let index = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\#(entry)]}"#.utf8)
            let indexDigest = Digest.compute(index)
            try await driver.putContent(Layout.blobData(indexDigest), index)
            try await driver.putContent(Layout.revisionLink(repo, indexDigest), Array(indexDigest.description.utf8))
            try await driver.putContent(Layout.tagCurrentLink(repo, try Tag("multi")), Array(indexDigest.description.utf8))
            // And a tag set on another just-deleted manifest.
            while try await driver.exists(Layout.revisionLink(repo, retagged.manifest)) {
                try await Task.sleep(nanoseconds: 5_000_000)
            }
            try await driver.putContent(Layout.tagCurrentLink(repo, try Tag("late")), Array(retagged.manifest.description.utf8))
            let finished = try await report
            #expect(Set(finished.rescuedManifests) == ["\(repo.value)@\(child.manifest)", "\(repo.value)@\(retagged.manifest)"])
            #expect(finished.deletedManifests.isEmpty)
            try await expectConsistent(RegistryStore(driver: driver))
        }
    }
}
