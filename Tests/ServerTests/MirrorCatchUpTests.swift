@testable import Assembly
import Client
import Foundation
import HummingbirdTesting
@testable import Mirror
import NIOCore
import OCI
import Server
import Storage
import Synchronization
import Testing

/// The client's pull does not wait for the storage: when the writer cannot keep up, the
/// readers go on from memory, and what the writer missed is written afterwards (from the
/// spool, or fetched again from the upstream from where the writer stopped), then verified by
/// the storage's own hash before it is stored.
@Suite struct MirrorCatchUpTests {
    /// A storage whose upload writes stop after their first MiB until the test opens the gate.
    final class GatedWrites: ForwardingDriver, @unchecked Sendable {
        let open = Mutex(false)
        /// A write is waiting at the gate.
        let blocked = Mutex(false)
        /// Where each writer was opened (nil: at the end of what exists).
        let openedAt = Mutex<[Int64?]>([])
        /// Files moved: a commit that found no hash state for the upload's size hashes the
        /// data read back, then moves it into place (with one, its writer commits it there).
        let moved = Mutex<[StoragePath]>([])

        override func move(from source: StoragePath, to destination: StoragePath) async throws {
            moved.withLock { $0.append(source) }
            try await inner.move(from: source, to: destination)
        }

        override func writer(_ path: StoragePath, at offset: Int64?) async throws -> any StorageWriter {
            openedAt.withLock { $0.append(offset) }
            return Writer(inner: try await inner.writer(path, at: offset), driver: self)
        }

        final class Writer: ForwardingWriter, @unchecked Sendable {
            let driver: GatedWrites
            init(inner: any StorageWriter, driver: GatedWrites) {
                self.driver = driver
                super.init(inner: inner)
            }
            override func write<Chunks: AsyncSequence>(_ chunks: Chunks, observe: (ByteBuffer) -> Void) async throws -> Int64
            where Chunks.Element == ByteBuffer {
                try await inner.write(Gate(base: chunks, driver: driver), observe: observe)
            }
        }

        struct Gate<Base: AsyncSequence>: AsyncSequence where Base.Element == ByteBuffer {
            typealias Element = ByteBuffer
            let base: Base
            let driver: GatedWrites
            struct AsyncIterator: AsyncIteratorProtocol {
                var base: Base.AsyncIterator
                let driver: GatedWrites
                var passed = 0
                mutating func next() async throws -> ByteBuffer? {
                    // A condition, not a duration: the test opens the gate when it is ready.
                    while passed >= 1 << 20, !driver.open.withLock({ $0 }) {
                        driver.blocked.withLock { $0 = true }
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    let piece = try await base.next()
                    passed += piece?.readableBytes ?? 0
                    return piece
                }
            }
            func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), driver: driver) }
        }
    }

    enum Kind: CaseIterable, Sendable {
        /// In memory: readers follow a spool, and the writer catches up from it.
        case memory
        /// A local disk: readers follow the upload itself, and the writer catches up from the upstream.
        case disk
    }

    func withMirror(_ kind: Kind, stallCheck: Duration = .seconds(3600), _ test: @escaping @Sendable (_ upstreamStore: RegistryStore, _ digest: Digest, _ blob: [UInt8], _ mirror: MirroringContent,
                                           _ driver: GatedWrites, _ store: RegistryStore) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-catch-up-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await MirrorAPITests.withLiveUpstream { upstream, upstreamStore, port in
            // More than the window keeps for a lagging writer: the reader leaves the held-back
            // writer behind.
            let blob = MirrorAPITests.patterned(BlobFetch.writerWindowLimit + (8 << 20), step: 13)
            let digest = try await upstream.pushBlob("team/big", blob)
            let driver = GatedWrites(inner: kind == .memory ? InMemoryDriver() : try FilesystemDriver(rootDirectory: root))
            let store = RegistryStore(driver: driver)
            let client = try RegistryClient.lazy(baseURL: "http://127.0.0.1:\(port)", credentials: .anonymous)
            defer { Task { try? await client.shutdown() } }
            // By default no reader is let go of for stalling here, however loaded the machine.
            let mirror = MirroringContent(local: store, upstreams: [Upstream(prefix: "up.local", client: client, tagTTL: 0)],
                                          stallCheck: stallCheck, logger: MirrorAPITests.quiet)
            try await test(upstreamStore, digest, blob, mirror, driver, store)
        }
    }

    /// Starts the fetch as a GET does (the reader announced, so the fetch keeps the blob's
    /// first window for it) and waits until the writer has written its MiB and is held back.
    static func startWithTheWriterHeldBack(_ mirror: MirroringContent, _ repository: RepositoryName, _ digest: Digest,
                                           _ driver: GatedWrites) async throws {
        try await mirror.prepareBlobRead(repository, digest)
        while !driver.blocked.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test(.timeLimit(.minutes(1)), arguments: Kind.allCases)
    func theClientGetsTheBlobWhileTheWriterIsHeldBackAndTheRestIsWrittenAfter(kind: Kind) async throws {
        try await withMirror(kind) { _, digest, blob, mirror, driver, store in
            let repository = try RepositoryName("up.local/team/big")
            try await Self.startWithTheWriterHeldBack(mirror, repository, digest, driver)
            var received: [UInt8] = []
            try await mirror.readBlob(repository, digest, range: nil) { received += $0.readableBytesView }
            #expect(received == blob, "whole and right while the storage had written a MiB of it")
            #expect(try await !store.hasBlob(repository, digest))
            // A second client now starts from the beginning: behind the window, it follows the
            // spool or what the writer has written, and waits for the rest.
            let second = Task {
                var bytes: [UInt8] = []
                try await mirror.readBlob(repository, digest, range: nil) { bytes += $0.readableBytesView }
                return bytes
            }
            driver.open.withLock { $0 = true }
            #expect(try await second.value == blob)
            if let fetch = await mirror.fetches.existing(MirroringContent.key(repository, digest)) { await fetch.ended() }
            #expect(try await store.hasBlob(repository, digest))
            var stored: [UInt8] = []
            try await store.readBlob(digest, range: nil) { stored += $0.readableBytesView }
            #expect(stored == blob)
            // The rest was appended from where the writer stopped (a MiB or more in), not rewritten.
            let offsets = driver.openedAt.withLock { $0 }.compactMap { $0 }.filter { $0 > 0 }
            #expect(offsets.count == 1 && offsets[0] >= 1 << 20 && offsets[0] < Int64(blob.count), "\(offsets)")
            // The storage went on from the fetch's hash of what the writer took from the window:
            // the commit did not need to read the upload back.
            #expect(driver.moved.withLock { $0 }.isEmpty, "\(driver.moved.withLock { $0 })")
        }
    }

    /// A client that stops reading (its connection open) does not hold the fetch for good:
    /// after a stall check without a step forward it no longer sets the pace, the fetch goes
    /// on at the writer's, and the blob is stored; the client, once it reads again, gets the
    /// whole blob (from the storage, the window having moved on).
    @Test(.timeLimit(.minutes(1)), arguments: Kind.allCases)
    func aClientThatStopsReadingDoesNotHoldTheFetch(kind: Kind) async throws {
        try await withMirror(kind, stallCheck: .milliseconds(50)) { _, digest, blob, mirror, driver, store in
            driver.open.withLock { $0 = true }
            let repository = try RepositoryName("up.local/team/big")
            let reading = Mutex(false)
            let resume = Mutex(false)
            let client = Task {
                var bytes: [UInt8] = []
                try await mirror.readBlob(repository, digest, range: nil) { chunk in
                    bytes += chunk.readableBytesView
                    reading.withLock { $0 = true }
                    while !resume.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
                }
                return bytes
            }
            while !reading.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            // Several windows: stored only if the fetch went on without the client.
            while try await !store.hasBlob(repository, digest) { try await Task.sleep(for: .milliseconds(5)) }
            resume.withLock { $0 = true }
            #expect(try await client.value == blob)
        }
    }

    /// A writer that keeps up writes what the fetch hashed: the storage keeps the fetch's hash
    /// state instead of hashing each byte a second time, and commits from it. The writer sets
    /// the pace here (the announced reader never comes, and the stall check lets it go), so it
    /// cannot fall behind, however loaded the machine.
    @Test(.timeLimit(.minutes(1)), arguments: Kind.allCases)
    func theStorageTakesTheFetchsHashOfWhatItWrote(kind: Kind) async throws {
        try await withMirror(kind, stallCheck: .milliseconds(50)) { _, digest, blob, mirror, driver, store in
            driver.open.withLock { $0 = true }
            let repository = try RepositoryName("up.local/team/big")
            try await mirror.prepareBlobRead(repository, digest)
            if let fetch = await mirror.fetches.existing(MirroringContent.key(repository, digest)) { await fetch.ended() }
            #expect(try await store.hasBlob(repository, digest))
            var stored: [UInt8] = []
            try await store.readBlob(digest, range: nil) { stored += $0.readableBytesView }
            #expect(stored == blob)
            #expect(driver.openedAt.withLock { $0 }.allSatisfy { ($0 ?? 0) == 0 }, "written in one pass: \(driver.openedAt.withLock { $0 })")
            #expect(driver.moved.withLock { $0 }.isEmpty, "the commit read the upload back: \(driver.moved.withLock { $0 })")
        }
    }

    /// Fetched again from the upstream, the missing part is checked too: an upstream whose
    /// content changed in between gets nothing stored.
    @Test(.timeLimit(.minutes(1)))
    func whatTheUpstreamSendsTheSecondTimeIsVerifiedBeforeItIsStored() async throws {
        try await withMirror(.disk) { upstreamStore, digest, blob, mirror, driver, store in
            let repository = try RepositoryName("up.local/team/big")
            try await Self.startWithTheWriterHeldBack(mirror, repository, digest, driver)
            var received: [UInt8] = []
            try await mirror.readBlob(repository, digest, range: nil) { received += $0.readableBytesView }
            #expect(received == blob)
            var changed = blob
            changed[blob.count - 100] &+= 1
            try await upstreamStore.driver.putContent(Layout.blobData(digest), changed)
            // A second client, behind the window, reads the upload as it is written: it must
            // not get the whole of what the upstream sent the second time.
            let second = Task {
                var bytes: [UInt8] = []
                try await mirror.readBlob(repository, digest, range: nil) { bytes += $0.readableBytesView }
                return bytes
            }
            let key = MirroringContent.key(repository, digest)
            let fetch = try #require(await mirror.fetches.existing(key))
            while await fetch.readerCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
            driver.open.withLock { $0 = true }
            await #expect(throws: (any Error).self, "the second client gets an error, not the changed blob") { _ = try await second.value }
            while await mirror.fetches.existing(key) != nil { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await !store.hasBlob(repository, digest))
            #expect(try await !driver.exists(Layout.blobData(digest)))
        }
    }
}
