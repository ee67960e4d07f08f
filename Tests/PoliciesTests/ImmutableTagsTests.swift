import Foundation
import NIOCore
import OCI
import Policies
import Storage
import Synchronization
import Testing

/// Immutable tags through the content seam, as the registry API and the web UI reach it.
@Suite struct ImmutableTagsTests {
    struct Chunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let parts: [[UInt8]]
        struct AsyncIterator: AsyncIteratorProtocol {
            var parts: [[UInt8]]
            mutating func next() async throws -> ByteBuffer? { parts.isEmpty ? nil : ByteBuffer(bytes: parts.removeFirst()) }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(parts: parts) }
    }

    struct Fixed: RepositoryPolicySource {
        let list: [any RepositoryPolicy]
        func policies() async throws -> [any RepositoryPolicy] { list }
    }

    let prod = try! RepositoryName("prod/app")

    func image(_ content: any RegistryContent, _ repo: RepositoryName, seed: Int) async throws -> [UInt8] {
        let config = Array(#"{"seed":\#(seed)}"#.utf8)
        let id = try await content.startUpload(repo)
        _ = try await content.appendUpload(repo, id, at: 0, from: Chunks(parts: [config]))
        let digest = Digest.compute(config)
        _ = try await content.completeUpload(repo, id, digest: digest)
        return Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(digest)","size":\#(config.count)},"layers":[]}"#.utf8)
    }

    func denied(_ body: () async throws -> Void) async -> String? {
        do { try await body(); return nil } catch let error as ContentError { return error.description } catch { return "other: \(error)" }
    }

    @Test func matchingTagsNeverMove() async throws {
        let rules = [ImmutableTags.Rule(repositories: "prod/*", tags: "v*", label: "immutable #1")]
        let content = PolicedContent(RegistryStore(driver: InMemoryDriver()), policies: Fixed(list: [ImmutableTags(rules: rules)]))
        let first = try await image(content, prod, seed: 1)
        let second = try await image(content, prod, seed: 2)
        let pushed = try await content.putManifest(prod, .tag(try Tag("v1.0")), bytes: first, contentType: MediaType.ociManifest)

        let moved = await denied { _ = try await content.putManifest(prod, .tag(try Tag("v1.0")), bytes: second, contentType: MediaType.ociManifest) }
        #expect(moved == "prod/app:v1.0 is immutable (immutable #1: prod/* v*); push it under a new tag")
        // By digest with ?tag=: the same rule.
        #expect(await denied {
            _ = try await content.putManifest(prod, .digest(Digest.compute(second)), bytes: second, contentType: MediaType.ociManifest, tags: [try Tag("v1.0")])
        } != nil)
        // The same manifest again, another tag, a tag that does not match, another repository: fine.
        #expect(await denied { _ = try await content.putManifest(prod, .tag(try Tag("v1.0")), bytes: first, contentType: MediaType.ociManifest) } == nil)
        #expect(await denied { _ = try await content.putManifest(prod, .tag(try Tag("v1.1")), bytes: second, contentType: MediaType.ociManifest) } == nil)
        #expect(await denied { _ = try await content.putManifest(prod, .tag(try Tag("latest")), bytes: second, contentType: MediaType.ociManifest) } == nil)
        #expect(await denied { _ = try await content.putManifest(prod, .tag(try Tag("latest")), bytes: first, contentType: MediaType.ociManifest) } == nil)
        #expect(try await content.resolveTag(prod, try Tag("v1.0")) == pushed.digest)

        // Deletes: the tag, the manifest it points at, the repository.
        #expect(await denied { try await content.deleteManifest(prod, .tag(try Tag("v1.0"))) }?.contains("cannot be deleted") == true)
        #expect(await denied { try await content.deleteManifest(prod, .digest(pushed.digest)) }?.contains("the manifest it holds") == true)
        #expect(await denied { _ = try await content.deleteRepository(prod) }?.contains("the repository cannot be deleted") == true)
        #expect(await denied { try await content.deleteManifest(prod, .tag(try Tag("latest"))) } == nil)
        // The blobs of a covered image cannot be unlinked either.
        let manifest = try await content.manifest(prod, .digest(pushed.digest))
        let config = try #require(try ManifestOutline(stored: manifest.bytes).blobs.first)
        #expect(await denied { try await content.deleteBlob(prod, config) }?.contains("a blob of it") == true)
    }

    @Test func concurrentPushesToAFreeImmutableTagLetOneWin() async throws {
        let rules = [ImmutableTags.Rule(repositories: "prod/*", tags: "v*", label: "immutable #1")]
        // Between the check and the write, each push waits for a second one to have checked
        // too (or gives up after a while, as it must when pushes are serialised): without the
        // serialisation, two would both see the tag free. The lock's patience is out of reach
        // here: on a loaded machine the first push's yields took longer than the default 30 s,
        // the others went on unserialised, and two won (a red CI).
        let content = PolicedContent(RegistryStore(driver: InMemoryDriver()),
                                     policies: Fixed(list: [ImmutableTags(rules: rules), Rendezvous()]), tagChangePatience: .seconds(3600))
        var images: [[UInt8]] = []
        for seed in 0..<8 { images.append(try await image(content, prod, seed: seed)) }
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for bytes in images {
                group.addTask { await denied { _ = try await content.putManifest(prod, .tag(try Tag("v9")), bytes: bytes, contentType: MediaType.ociManifest) } == nil }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
    }

    /// A policy that holds a push until another one reaches it, or a thousand yields passed.
    final class Rendezvous: RepositoryPolicy {
        let arrived = Mutex(0)
        func beforeManifestPut(_ repository: RepositoryName, digest: Digest, tags: [OCI.Tag], content: any RegistryContent) async throws {
            let mine = arrived.withLock { count in count += 1; return count }
            for _ in 0..<1000 where arrived.withLock({ $0 }) <= mine && mine == 1 { await Task.yield() }
        }
    }

    /// Only a policy that looks at the tags holds pushes back: under a quota alone, pushes to
    /// one repository run side by side.
    @Test func pushesUnderOtherPoliciesAreNotSerialised() async throws {
        let meeting = Meeting()
        let content = PolicedContent(RegistryStore(driver: InMemoryDriver()), policies: Fixed(list: [meeting]))
        let images = [try await image(content, prod, seed: 1), try await image(content, prod, seed: 2)]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, bytes) in images.enumerated() {
                group.addTask { _ = try await content.putManifest(prod, .tag(try Tag("v\(index)")), bytes: bytes, contentType: MediaType.ociManifest) }
            }
            try await group.waitForAll()
        }
        #expect(meeting.everyoneMet, "a push waited for the other to finish before it could check")
    }

    /// Each push waits inside the check until the other arrives (at most 30 s, which only a
    /// serialisation would use up).
    final class Meeting: RepositoryPolicy {
        let state = Mutex((arrived: 0, missed: false))
        func beforeManifestPut(_ repository: RepositoryName, digest: Digest, tags: [OCI.Tag], content: any RegistryContent) async throws {
            state.withLock { $0.arrived += 1 }
            let deadline = ContinuousClock.now + .seconds(30)
            while state.withLock({ $0.arrived }) < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
            state.withLock { if $0.arrived < 2 { $0.missed = true } }
        }
        var everyoneMet: Bool { state.withLock { !$0.missed && $0.arrived == 2 } }
    }

    @Test func kindsAreCheckedAndNumbered() throws {
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "immutable", spec: ["name": "prod/*"]) }
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "immutable", spec: ["name": "prod/*", "tag": "[v"]) }
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "immutable", spec: ["name": "prod/*", "tag": "v*", "colour": "red"]) }
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "frozen", spec: [:]) }
        #expect(throws: Never.self) { try PolicyKinds.check(kind: "immutable", spec: ["name": "prod/*", "tag": "/^v[0-9.]+$/"]) }
    }
}
