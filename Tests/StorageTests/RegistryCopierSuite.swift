import Foundation
import OCI
import Storage
import Testing

/// Backup and restore (`RegistryCopier`), from every driver kind.
@Suite struct RegistryCopierSuite {
    let gc = GarbageCollectorSuite()
    let repo = try! RepositoryName("team/app")

    @Test(arguments: DriverKind.allCases)
    func copiesImagesIndexesReferrersTagsAndStateThenOnlyWhatIsNew(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let sourceDriver = try make()
            let source = RegistryStore(driver: sourceDriver)
            let v1 = try await gc.pushImage(source, repo, tag: "v1", seed: 1)
            let amd64 = try await gc.pushImage(source, repo, tag: nil, seed: 2)
            let arm64 = try await gc.pushImage(source, repo, tag: nil, seed: 3)
            let index = try await gc.pushIndex(source, repo, tag: "multi", children: [amd64, arm64])
            let signature = try await gc.pushImage(source, repo, tag: nil, seed: 4, subject: v1.manifest)
            _ = try await gc.pushImage(source, try RepositoryName("other"), tag: "latest", seed: 5)
            try await sourceDriver.putPrivateContent(try StoragePath("berth/accounts/admin.bcrypt"), Array("$2y$10$hash".utf8))
            let empty = try await gc.helpers.push(source, repo, [])

            let destinationDriver = InMemoryDriver()
            let report = try await RegistryCopier(from: sourceDriver, to: destinationDriver).run()
            #expect(report.repositories == 2)
            #expect(report.manifests == 6)
            #expect(report.tags == 3)
            #expect(report.skipped.isEmpty)
            #expect(report.accountFiles == 1)
            #expect(report.blobsCopied == 17)
            #expect(try await destinationDriver.getContent(Layout.blobData(empty)) == [])

            let copy = RegistryStore(driver: destinationDriver)
            #expect(try await copy.resolveTag(repo, try Tag("v1")) == v1.manifest)
            #expect(try await copy.manifest(repo, .tag(try Tag("multi"))).digest == index)
            #expect(try await copy.referrers(repo, subject: v1.manifest, artifactType: nil).map(\.digest) == [signature.manifest])
            #expect(try await copy.tags(try RepositoryName("other")) == ["latest"])
            #expect(try await destinationDriver.getContent(try StoragePath("berth/accounts/admin.bcrypt")) == Array("$2y$10$hash".utf8))
            try await gc.expectConsistent(copy)

            _ = try await gc.pushImage(source, repo, tag: "v2", seed: 6)
            let again = try await RegistryCopier(from: sourceDriver, to: destinationDriver).run()
            #expect(again.blobsCopied == 3)
            #expect(again.blobsPresent == 17)
            #expect(try await copy.tags(repo) == ["multi", "v1", "v2"])
        }
    }

    /// Images with non-distributable layers (Windows base images): the layer is fetched from
    /// its URL, so a backup copies the manifest without it, and with it where it was pushed.
    @Test(arguments: DriverKind.allCases)
    func imagesWithForeignLayersAreCopied(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let sourceDriver = try make()
            let source = RegistryStore(driver: sourceDriver)
            let config = try await gc.helpers.push(source, repo, Array("{}".utf8))
            let pushedForeign = try await gc.helpers.push(source, repo, [7, 7, 7])
            func manifest(_ layer: Digest) -> [UInt8] {
                Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(config)","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip","digest":"\#(layer)","size":3,"urls":["https://mcr.microsoft.com/l"]}]}"#.utf8)
            }
            let absent = try await source.putManifest(repo, .tag(try Tag("absent")), bytes: manifest(Digest.compute([1, 2, 3])), contentType: MediaType.ociManifest)
            let present = try await source.putManifest(repo, .tag(try Tag("present")), bytes: manifest(pushedForeign), contentType: MediaType.ociManifest)

            let destinationDriver = InMemoryDriver()
            let report = try await RegistryCopier(from: sourceDriver, to: destinationDriver).run()
            #expect(report.skipped.isEmpty, "\(report.skipped)")
            #expect(report.manifests == 2)
            let copy = RegistryStore(driver: destinationDriver)
            #expect(try await copy.resolveTag(repo, try Tag("absent")) == absent.digest)
            #expect(try await copy.resolveTag(repo, try Tag("present")) == present.digest)
            #expect(try await copy.blobSize(repo, pushedForeign) == 3)
            try await gc.expectConsistent(copy)
            // The collector keeps a pushed foreign layer with its manifest.
            _ = try await GarbageCollector(store: copy, options: .init(gracePeriod: 0, settleTime: 0, now: Date().addingTimeInterval(7200))).run()
            #expect(try await copy.blobSize(repo, pushedForeign) == 3)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func aCorruptBlobIsRefusedAndNotWritten(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let sourceDriver = try make()
            let source = RegistryStore(driver: sourceDriver)
            let image = try await gc.pushImage(source, repo, tag: "v1", seed: 7)
            try await sourceDriver.putContent(Layout.blobData(image.blobs[1]), Array("flipped bits".utf8))
            let destinationDriver = InMemoryDriver()
            await #expect(throws: CopyError.self) { _ = try await RegistryCopier(from: sourceDriver, to: destinationDriver).run() }
            #expect(try await destinationDriver.exists(Layout.blobData(image.blobs[1])) == false)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func manifestsMissingContentAreLeftOutWithTheirTags(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let sourceDriver = try make()
            let source = RegistryStore(driver: sourceDriver)
            let broken = try await gc.pushImage(source, repo, tag: "broken", seed: 8)
            let fine = try await gc.pushImage(source, repo, tag: "fine", seed: 9)
            try await sourceDriver.delete(Layout.blobData(broken.blobs[1]).parent!)
            let destinationDriver = InMemoryDriver()
            let report = try await RegistryCopier(from: sourceDriver, to: destinationDriver).run()
            #expect(report.skipped.count == 2)
            let copy = RegistryStore(driver: destinationDriver)
            #expect(try await copy.tags(repo) == ["fine"])
            #expect(try await copy.resolveTag(repo, try Tag("fine")) == fine.manifest)
            try await gc.expectConsistent(copy)
        }
    }

    @Test(arguments: DriverKind.allCases)
    func pushesDuringABackupNeverLeaveItInconsistent(_ kind: DriverKind) async throws {
        try await kind.with { make in
            let sourceDriver = try make()
            let source = RegistryStore(driver: sourceDriver)
            for seed in 20..<30 as Range<UInt64> { _ = try await gc.pushImage(source, repo, tag: "t\(seed)", seed: seed) }
            let destinationDriver = InMemoryDriver()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await RegistryCopier(from: sourceDriver, to: destinationDriver).run() }
                for seed in 40..<60 as Range<UInt64> {
                    group.addTask {
                        _ = try await gc.pushImage(source, try RepositoryName("busy/r\(seed % 4)"), tag: "t\(seed)", seed: seed)
                        if seed.isMultiple(of: 3) { try await source.deleteManifest(repo, .tag(try Tag("t\(seed / 2)"))) }
                    }
                }
                try await group.waitForAll()
            }
            try await gc.expectConsistent(RegistryStore(driver: destinationDriver))
        }
    }
}
