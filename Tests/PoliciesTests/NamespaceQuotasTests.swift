import Foundation
import NIOCore
import OCI
import Policies
import Storage
import Testing

/// Quotas through the content seam, on a real store: what a namespace uses, what it may add.
@Suite struct NamespaceQuotasTests {
    typealias Chunks = ImmutableTagsTests.Chunks
    typealias Fixed = ImmutableTagsTests.Fixed

    func push(_ content: any RegistryContent, _ repository: RepositoryName, _ bytes: [UInt8]) async throws -> Digest {
        let id = try await content.startUpload(repository)
        _ = try await content.appendUpload(repository, id, at: 0, from: Chunks(parts: [bytes]))
        let digest = Digest.compute(bytes)
        _ = try await content.completeUpload(repository, id, digest: digest)
        return digest
    }

    func refusal(_ body: () async throws -> Void) async -> String? {
        do { try await body(); return nil } catch let error as ContentError { return error.description } catch { return "other: \(error)" }
    }

    func quota(_ limit: Int64, store: RegistryStore, maxAge: Duration = .seconds(3600)) -> (PolicedContent, NamespaceUsage) {
        let usage = NamespaceUsage(store: store, maxAge: maxAge)
        let quotas = NamespaceQuotas(quotas: [.init(namespace: "team", limit: ByteSize(bytes: limit), label: "quota #1")], usage: usage)
        return (PolicedContent(store, policies: Fixed(list: [quotas])), usage)
    }

    @Test func distinctBlobsOfTheNamespaceCountOnceAndPastTheLimitIsRefused() async throws {
        let store = RegistryStore(driver: InMemoryDriver())
        let app = try RepositoryName("team/app"), api = try RepositoryName("team/api"), other = try RepositoryName("other/app")
        // Stored before the quota existed: measured from the layout.
        let shared = [UInt8](repeating: 1, count: 400)
        _ = try await push(store, app, shared)
        let (content, usage) = quota(1000, store: store)
        #expect(try await usage.usage("team") == NamespaceUsage.Figure(bytes: 400, blobs: 1))

        // The same blob in another repository of the namespace adds nothing.
        _ = try await push(content, api, shared)
        #expect(try await usage.usage("team").bytes == 400)
        // 400 + 500 fits; then 200 more would pass 1000.
        _ = try await push(content, api, [UInt8](repeating: 2, count: 500))
        #expect(try await usage.usage("team").bytes == 900)
        let past = await refusal { _ = try await push(content, app, [UInt8](repeating: 3, count: 200)) }
        #expect(past == "quota exceeded: namespace team uses 900 B of its 1000 B (quota #1); this blob (200 B) would take it past the limit")
        // Other namespaces are not counted against it, and have no limit.
        _ = try await push(content, other, [UInt8](repeating: 4, count: 5000))
        #expect(try await usage.usage("team").bytes == 900)

        // A mount of a blob from elsewhere counts like an upload.
        let big = try await push(store, other, [UInt8](repeating: 5, count: 300))
        #expect(await refusal { _ = try await content.mountBlob(app, from: other, big) }?.hasPrefix("quota exceeded") == true)
        // Once at the limit, an upload is refused before any byte.
        _ = try await push(content, app, [UInt8](repeating: 6, count: 100))
        #expect(try await usage.usage("team").bytes == 1000)
        #expect(await refusal { _ = try await content.startUpload(app) }?.contains("nothing more may be pushed there") == true)

        // Deleting gives the space back (the namespace is measured again).
        _ = try await content.deleteRepository(api)
        #expect(try await usage.usage("team").bytes == 500)
        #expect(await refusal { _ = try await content.startUpload(app) } == nil)
    }

    @Test func pushesOfOtherProcessesAreSeenOnceTheFigureIsOld() async throws {
        let store = RegistryStore(driver: InMemoryDriver())
        let app = try RepositoryName("team/app")
        let (_, usage) = quota(1000, store: store, maxAge: .zero)
        #expect(try await usage.usage("team").bytes == 0)
        _ = try await push(store, app, [UInt8](repeating: 7, count: 10))
        #expect(try await usage.usage("team").bytes == 10)
    }

    @Test func sizesParse() throws {
        #expect(try ByteSize(parsing: "10GiB").bytes == 10 << 30)
        #expect(try ByteSize(parsing: "10G").bytes == 10 << 30)
        #expect(try ByteSize(parsing: "500MB").bytes == 500_000_000)
        #expect(try ByteSize(parsing: "1.5 t").bytes == Int64(1.5 * 1024 * 1024 * 1024 * 1024))
        #expect(try ByteSize(parsing: "1048576").bytes == 1 << 20)
        for bad in ["", "ten", "10XB", "-1G", "1e30", "9999999P"] {
            #expect(throws: ByteSizeError.self) { try ByteSize(parsing: bad) }
        }
        #expect(ByteSize(bytes: 1536).description == "1.5 KiB")
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "quota", spec: ["namespace": "team/app", "size": "1G"]) }
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "quota", spec: ["namespace": "Team", "size": "1G"]) }
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "quota", spec: ["namespace": "team", "size": "lots"]) }
        #expect(throws: Never.self) { try PolicyKinds.check(kind: "quota", spec: ["namespace": "team", "size": "1G"]) }
    }
}

extension NamespaceQuotasTests {
    /// Only the namespace's part of the layout is read: `teamx` is another namespace, and a
    /// repository may be named as the namespace itself or lie deeper.
    @Test func aNamespaceIsItsOwnSubtree() async throws {
        let store = RegistryStore(driver: InMemoryDriver())
        let (_, usage) = quota(1 << 20, store: store, maxAge: .zero)
        for (name, size) in [("team", 1), ("team/app", 2), ("team/a/b", 4), ("teamx/app", 8), ("other", 16)] {
            _ = try await push(store, try RepositoryName(name), [UInt8](repeating: UInt8(size), count: size))
        }
        #expect(try await store.repositories(inNamespace: "team") == ["team", "team/a/b", "team/app"])
        #expect(try await usage.usage("team") == NamespaceUsage.Figure(bytes: 7, blobs: 3))
        #expect(try await usage.usage("nobody") == NamespaceUsage.Figure(bytes: 0, blobs: 0))
        #expect(try await store.repositories(inNamespace: "..") == [])
    }
}
