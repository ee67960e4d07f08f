@testable import Assembly
import Client
import Foundation
import HummingbirdTesting
import Server
import Mirror
import NIOCore
import OCI
import Storage
import Synchronization
import Testing

/// The mirror hands a client the last byte of a blob once it matched its digest, without
/// waiting for the commit that makes it durable (the fsync of a large blob, off the
/// client's path); a corrupt blob still never arrives whole.
@Suite struct MirrorCommitTests {
    /// An in-memory storage whose commits wait until the test opens the gate.
    final class GatedCommits: ForwardingDriver, @unchecked Sendable {
        let open = Mutex(false)
        let commits = Mutex(0)

        init() { super.init(inner: InMemoryDriver()) }

        override func writer(_ path: StoragePath, at offset: Int64?) async throws -> any StorageWriter {
            Writer(inner: try await inner.writer(path, at: offset), driver: self)
        }

        final class Writer: ForwardingWriter, @unchecked Sendable {
            let driver: GatedCommits
            init(inner: any StorageWriter, driver: GatedCommits) {
                self.driver = driver
                super.init(inner: inner)
            }
            override func commit(to destination: StoragePath) async throws {
                driver.commits.withLock { $0 += 1 }
                // A condition, not a duration: the test opens the gate once it has its bytes.
                while !driver.open.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
                try await inner.commit(to: destination)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theLastByteWaitsForTheDigestNotTheCommit() async throws {
        try await MirrorAPITests.withLiveUpstream { upstream, _, port in
            let blob = MirrorAPITests.patterned(3 << 20, step: 7)
            let digest = try await upstream.pushBlob("team/big", blob)
            let driver = GatedCommits()
            let store = RegistryStore(driver: driver)
            let client = try RegistryClient.lazy(baseURL: "http://127.0.0.1:\(port)", credentials: .anonymous)
            defer { Task { try? await client.shutdown() } }
            let mirror = MirroringContent(local: store, upstreams: [Upstream(prefix: "up.local", client: client, tagTTL: 0)],
                                          logger: MirrorAPITests.quiet)
            let repository = try RepositoryName("up.local/team/big")
            var received: [UInt8] = []
            try await mirror.readBlob(repository, digest, range: nil) { received += $0.readableBytesView }
            // Whole and right, while the commit has not been let through (nor perhaps begun).
            #expect(received == blob)
            while driver.commits.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await !store.hasBlob(repository, digest))
            driver.open.withLock { $0 = true }
            // Then it is stored; the next read comes from the storage.
            while try await !store.hasBlob(repository, digest) { try await Task.sleep(for: .milliseconds(5)) }
            var again: [UInt8] = []
            try await mirror.readBlob(repository, digest, range: nil) { again += $0.readableBytesView }
            #expect(again == blob)
        }
    }
}
