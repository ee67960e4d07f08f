@testable import Assembly
import Client
import Config
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Mirror
import NIOCore
import OCI
@testable import Server
@testable import Storage
import Testing

/// The pull-through cache against a live upstream Berth on a loopback port.
@Suite struct MirrorAPITests {
    /// Where the mirror keeps what it fetched: in memory and on S3 a fetch is spooled while
    /// it is written; on a local disk readers follow the upload itself.
    enum MirrorStorage: CaseIterable, Sendable {
        case memory, disk, objectStorage

        /// Runs `body` with the storage to configure (nil: the fixture's own, in memory) and
        /// removes what was stored afterwards. On S3, a new bucket of the server in
        /// BERTH_TEST_S3 (radosgw in scripts/test.sh); without one the case is left out, and
        /// fails under CI=true.
        func provide(_ body: (RegistryConfiguration.StorageBackend?) async throws -> Void) async throws {
            switch self {
            case .memory:
                try await body(nil)
            case .disk:
                let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-mirror-\(UUID().uuidString)").path
                defer { try? FileManager.default.removeItem(atPath: root) }
                try await body(.filesystem(rootDirectory: root))
            case .objectStorage:
                let environment = ProcessInfo.processInfo.environment
                guard let endpoint = environment["BERTH_TEST_S3"] else {
                    if environment["CI"] == "true" { Issue.record("BERTH_TEST_S3 is not set: the mirror on S3 cannot be tested") }
                    return
                }
                var settings = S3StorageSettings()
                settings.bucket = "berth-mirror-\(UUID().uuidString.prefix(13).lowercased())"
                settings.region = "us-east-1"
                settings.regionEndpoint = endpoint
                settings.forcePathStyle = true
                settings.secure = false
                settings.rootDirectory = "/registry-v2"
                settings.accessKey = environment["BERTH_TEST_S3_ACCESS_KEY"] ?? "berth-test"
                settings.secretKey = environment["BERTH_TEST_S3_SECRET_KEY"] ?? "berth-test-secret"
                settings.chunkSize = S3Configuration.minimumChunkSize
                let configuration = try BerthServer.s3Configuration(settings)
                _ = try await S3Client(configuration: configuration, logger: Logger(label: "test")).send(.PUT, key: "")
                let driver = try S3Driver(configuration: configuration)
                do {
                    try await body(.s3(settings))
                } catch {
                    try? await driver.delete(StoragePath.root)
                    throw error
                }
                try? await driver.delete(StoragePath.root)
            }
        }
    }

    /// Runs an upstream Berth live and a mirror of it (prefix `up.local`) through the test client.
    func withMirror(tagTTL: Double = 3600, storage: MirrorStorage = .memory,
                    configure: @escaping @Sendable (inout ProxyUpstream) -> Void = { _ in },
                    _ test: @escaping @Sendable (_ upstream: APIFixture.Client, _ upstreamStore: RegistryStore,
                                                 _ mirror: APIFixture.Client, _ mirrorStore: RegistryStore) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let upstreamConfig = APIFixture().config
        let upstreamStore = try BerthServer.makeStore(upstreamConfig, logger: logger)
        let upstreamApp = try await BerthServer.makeApplication(upstreamConfig, store: upstreamStore, logger: logger)
        try await storage.provide { backend in
            try await upstreamApp.test(.live) { upstreamClient in
                let port = try #require(upstreamClient.port)
                let mirror = APIFixture { config in
                    if let backend { config.storage = backend }
                    // Blobs are read through the mirror, not redirected to the bucket.
                    config.redirectDisabled = true
                    var upstream = ProxyUpstream(prefix: "up.local", remoteURL: "http://127.0.0.1:\(port)")
                    upstream.tagTTL = tagTTL
                    configure(&upstream)
                    config.proxyUpstreams = [upstream]
                }
                try await mirror.run { mirrorClient, mirrorStore in
                    try await test(APIFixture.Client(client: upstreamClient), upstreamStore, mirrorClient, mirrorStore)
                }
            }
        }
    }

    @Test func pullsThroughAndStoresWhatItServed() async throws {
        try await withMirror { upstream, _, mirror, mirrorStore in
            let (manifest, digest) = try await upstream.pushImage("team/app", tag: "v1", seed: 7)
            let r = try await mirror.send(.get, "/v2/up.local/team/app/manifests/v1", headers: [.accept: MediaType.ociManifest])
            #expect(r.status == .ok)
            #expect(Array(r.body.readableBytesView) == manifest)
            #expect(r.header("Docker-Content-Digest") == digest.description)
            let layer = [UInt8](repeating: 7, count: 100)
            let blob = try await mirror.send(.get, "/v2/up.local/team/app/blobs/\(Digest.compute(layer))")
            #expect(blob.status == .ok)
            #expect(Array(blob.body.readableBytesView) == layer)
            // Stored like pushed content (the commit follows the client's last byte): readable
            // from the store without the mirror.
            let repository = try RepositoryName("up.local/team/app")
            while try await !mirrorStore.hasBlob(repository, Digest.compute(layer)) { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await mirrorStore.manifest(repository, .tag(try Tag("v1"))).digest == digest)
            #expect(try await mirrorStore.blobSize(repository, Digest.compute(layer)) == 100)
            let ranged = try await mirror.send(.get, "/v2/up.local/team/app/blobs/\(Digest.compute(layer))", headers: [.range: "bytes=10-19"])
            #expect(ranged.status == .partialContent)
            #expect(ranged.body.readableBytes == 10)
            // The catalog says which prefixes are mirrors (for `berth ls -l`); a registry without any says nothing.
            #expect(try await mirror.send(.get, "/v2/_catalog").header("Berth-Mirror-Prefixes") == "up.local")
            #expect(try await upstream.send(.get, "/v2/_catalog").header("Berth-Mirror-Prefixes") == nil)
        }
    }

    @Test(.timeLimit(.minutes(1)), arguments: MirrorStorage.allCases)
    func concurrentReadersOfAnUncachedBlobAllGetIt(storage: MirrorStorage) async throws {
        try await withMirror(storage: storage) { upstream, _, mirror, _ in
            // Filled through a raw buffer: a per-byte `map` of 12 MiB, unoptimised, holds a
            // cooperative thread for seconds and starves the other tests' timers.
            let big = [UInt8](unsafeUninitializedCapacity: 12 << 20) { buffer, initialized in
                for index in buffer.indices { buffer[index] = UInt8(truncatingIfNeeded: index &* 31) }
                initialized = buffer.count
            }
            let digest = try await upstream.pushBlob("team/big", big)
            try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for _ in 0..<8 {
                    group.addTask { Array(try await mirror.send(.get, "/v2/up.local/team/big/blobs/\(digest)").body.readableBytesView) }
                }
                // Ranges of the blob while it arrives, one starting beyond the first chunk.
                for range in [0..<1000, 5_000_000..<5_000_100, (12 << 20) - 10..<(12 << 20)] {
                    group.addTask {
                        let r = try await mirror.send(.get, "/v2/up.local/team/big/blobs/\(digest)",
                                                      headers: [.range: "bytes=\(range.lowerBound)-\(range.upperBound - 1)"])
                        return Array(r.body.readableBytesView) == Array(big[range]) ? big : []
                    }
                }
                for try await body in group { #expect(body == big) }
            }
        }
    }

    @Test(.timeLimit(.minutes(1)), arguments: MirrorStorage.allCases)
    func aCorruptUpstreamBlobIsNeitherServedWholeNorStored(storage: MirrorStorage) async throws {
        try await withMirror(storage: storage) { upstream, upstreamStore, mirror, mirrorStore in
            let good = [UInt8](repeating: 3, count: 200_000)
            let digest = try await upstream.pushBlob("team/bad", good)
            var bad = good
            bad[1000] = 4
            try await upstreamStore.driver.putContent(Layout.blobData(digest), bad)
            let r = try? await mirror.send(.get, "/v2/up.local/team/bad/blobs/\(digest)")
            #expect(r.map { Array($0.body.readableBytesView) != bad && Array($0.body.readableBytesView) != good } ?? true)
            #expect(try await !mirrorStore.driver.exists(Layout.blobData(digest)))
        }
    }

    @Test func tagsAreRevalidatedOnlyAfterTheTTL() async throws {
        try await withMirror(tagTTL: 3600) { upstream, _, mirror, _ in
            let (_, first) = try await upstream.pushImage("team/app", tag: "v1", seed: 1)
            let a = try await mirror.send(.head, "/v2/up.local/team/app/manifests/v1")
            #expect(a.header("Docker-Content-Digest") == first.description)
            _ = try await upstream.pushImage("team/app", tag: "v1", seed: 2)
            let b = try await mirror.send(.head, "/v2/up.local/team/app/manifests/v1")
            #expect(b.header("Docker-Content-Digest") == first.description, "within the TTL the cached digest is served")
        }
        try await withMirror(tagTTL: 0) { upstream, _, mirror, _ in
            _ = try await upstream.pushImage("team/app", tag: "v1", seed: 1)
            _ = try await mirror.send(.head, "/v2/up.local/team/app/manifests/v1")
            let (_, moved) = try await upstream.pushImage("team/app", tag: "v1", seed: 2)
            let b = try await mirror.send(.head, "/v2/up.local/team/app/manifests/v1")
            #expect(b.header("Docker-Content-Digest") == moved.description)
        }
    }

    @Test func pushesIntoAMirrorAreRefusedAndOtherRepositoriesAreOrdinary() async throws {
        try await withMirror(configure: { $0.repositories = ["team/*"] }) { _, _, mirror, _ in
            let r = try await mirror.send(.post, "/v2/up.local/team/app/blobs/uploads/")
            #expect(r.status == .methodNotAllowed)
            #expect(r.errorCode == "UNSUPPORTED")
            _ = try await mirror.pushImage("ours/app", tag: "v1")
            let notAllowed = try await mirror.send(.get, "/v2/up.local/other/app/manifests/v1")
            #expect(notAllowed.status == .notFound)
            #expect(notAllowed.errorCode == "NAME_UNKNOWN")
            let unknown = try await mirror.send(.get, "/v2/up.local/team/none/manifests/v1")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "MANIFEST_UNKNOWN")
        }
    }

    @Test func containerdNamespaceRequestsReachTheirUpstream() async throws {
        try await withMirror(configure: { $0.namespaces = ["up.example.com"] }) { upstream, _, mirror, _ in
            let (_, digest) = try await upstream.pushImage("team/app", tag: "v1")
            let r = try await mirror.send(.head, "/v2/team/app/manifests/v1?ns=up.example.com")
            #expect(r.status == .ok)
            #expect(r.header("Docker-Content-Digest") == digest.description)
        }
    }

    /// A mirror (prefix `up.local`, tags always revalidated) of an upstream nobody listens on.
    static func mirrorOfAClosedPort() async throws -> (store: RegistryStore, client: RegistryClient, mirror: MirroringContent) {
        let port = try await closedPort()
        let store = RegistryStore(driver: InMemoryDriver())
        let client = try RegistryClient.lazy(baseURL: "http://127.0.0.1:\(port)", credentials: .anonymous)
        return (store, client, MirroringContent(local: store, upstreams: [Upstream(prefix: "up.local", client: client, tagTTL: 0)], logger: quiet))
    }

    @Test func anUnreachableUpstreamServesTheCacheAndFailsClearlyOtherwise() async throws {
        let (store, client, mirror) = try await Self.mirrorOfAClosedPort()
        let repository = try RepositoryName("up.local/team/app")
        let bytes = APIFixture.Client.manifest(config: (Digest.compute([1]), 1), layers: [])
        let stored = try await store.storeMirroredManifest(repository, tag: try Tag("v1"), bytes: bytes, digest: Digest.compute(bytes),
                                                           mediaType: MediaType.ociManifest)
        #expect(try await mirror.manifest(repository, .tag(try Tag("v1"))).digest == stored.digest)
        await #expect(throws: RegistryError.self) { _ = try await mirror.manifest(repository, .tag(try Tag("v2"))) }
        do {
            _ = try await mirror.manifest(repository, .tag(try Tag("v2")))
        } catch let error as RegistryError {
            #expect(error.code == .unavailable)
        }
        try await client.shutdown()
    }

    @Test func referrersAreTheUpstreamsWhileItAnswers() async throws {
        try await withMirror { upstream, _, mirror, mirrorStore in
            let (_, subject) = try await upstream.pushImage("team/app", tag: "v1", seed: 1)
            let (_, signature) = try await upstream.pushImage("team/app", tag: "sig", seed: 2, subject: subject,
                                                              artifactType: "application/vnd.example.signature")
            let (_, sbom) = try await upstream.pushImage("team/app", tag: "sbom", seed: 3, subject: subject,
                                                         artifactType: "application/vnd.example.sbom")
            func listed(_ query: String = "") async throws -> (digests: [Digest], filtered: String?) {
                let r = try await mirror.send(.get, "/v2/up.local/team/app/referrers/\(subject)\(query)")
                #expect(r.status == .ok)
                let index = try JSONDecoder().decode(ImageIndex.self, from: Data(r.body.readableBytesView))
                return (index.manifests.map(\.digest), r.header("OCI-Filters-Applied"))
            }
            // Nothing of them was pulled through the mirror: the list is the upstream's.
            #expect(Set(try await listed().digests) == [signature, sbom])
            let filtered = try await listed("?artifactType=application/vnd.example.sbom")
            #expect(filtered.digests == [sbom])
            #expect(filtered.filtered == "artifactType")
            #expect(try await mirrorStore.referrers(try RepositoryName("up.local/team/app"), subject: subject, artifactType: nil).isEmpty)
            // A repository the upstream does not have has no referrers there either.
            #expect(try await mirror.send(.get, "/v2/up.local/team/none/referrers/\(subject)").status == .ok)
        }
    }

    @Test func referrersAreTheCachedOnesWhenTheUpstreamIsDown() async throws {
        let (store, client, mirror) = try await Self.mirrorOfAClosedPort()
        let repository = try RepositoryName("up.local/team/app")
        let image = APIFixture.Client.manifest(config: (Digest.compute([1]), 1), layers: [])
        let signature = APIFixture.Client.manifest(config: (Digest.compute([2]), 1), layers: [], subject: Digest.compute(image),
                                                   artifactType: "application/vnd.example.signature")
        for bytes in [image, signature] {
            _ = try await store.storeMirroredManifest(repository, tag: nil, bytes: bytes, digest: Digest.compute(bytes), mediaType: MediaType.ociManifest)
        }
        #expect(try await mirror.referrers(repository, subject: Digest.compute(image), artifactType: nil).map(\.digest) == [Digest.compute(signature)])
        #expect(try await mirror.referrers(repository, subject: Digest.compute(image), artifactType: "application/vnd.example.sbom").isEmpty)
        try await client.shutdown()
    }

    @Test func retentionEvictsWhatNobodyPulled() async throws {
        let store = RegistryStore(driver: InMemoryDriver())
        let client = try RegistryClient.lazy(baseURL: "http://127.0.0.1:9", credentials: .anonymous)
        let mirror = MirroringContent(local: store, upstreams: [Upstream(prefix: "up.local", client: client, tagTTL: 3600, retention: 3600)], logger: Self.quiet)
        let repository = try RepositoryName("up.local/team/app")
        let old = APIFixture.Client.manifest(config: (Digest.compute([1]), 1), layers: [])
        let recent = APIFixture.Client.manifest(config: (Digest.compute([2]), 1), layers: [])
        for (bytes, tag) in [(old, "old"), (recent, "recent")] {
            _ = try await store.storeMirroredManifest(repository, tag: try Tag(tag), bytes: bytes, digest: Digest.compute(bytes),
                                                      mediaType: MediaType.ociManifest)
        }
        try await store.recordMirrorPull(repository, Digest.compute(old), at: Date(timeIntervalSinceNow: -7200))
        try await store.recordMirrorPull(repository, Digest.compute(recent), at: Date(timeIntervalSinceNow: -60))
        let evicted = try await mirror.evictUnpulled()
        #expect(evicted == ["\(repository.value)@\(Digest.compute(old))"])
        #expect(try await store.tags(repository) == ["recent"])
        try await client.shutdown()
    }

    static let quiet: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    /// A loopback port nothing listens on.
    static func closedPort() async throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
