@testable import Assembly
@testable import Client
import Foundation
import HummingbirdTesting
import NIOCore
import OCI
import Testing

/// The client's blob streams (read ahead of their consumer) against a live Berth: whole,
/// from an offset, a body dropped half-way (the connection is not left wedged), a 404.
@Suite struct BlobStreamClientTests {
    @Test(.timeLimit(.minutes(1)))
    func blobStreamsReadAheadWholeFromAnOffsetDroppedAndMissing() async throws {
        try await MirrorAPITests.withLiveUpstream { upstream, _, port in
            // Many times the read-ahead (64 parts), so the producer is paused and resumed.
            let blob = MirrorAPITests.patterned(24 << 20, step: 11)
            let digest = try await upstream.pushBlob("team/blob", blob)
            let client = try RegistryClient.lazy(baseURL: "http://127.0.0.1:\(port)", credentials: .anonymous)
            let repository = try RepositoryName("team/blob")

            func collect(_ stream: RegistryClient.BlobStream) async throws -> [UInt8] {
                var bytes: [UInt8] = []
                for try await piece in stream.body { bytes += piece.readableBytesView }
                return bytes
            }

            for _ in 0..<3 {
                let dropped = try await client.openBlob(repository, digest)
                var iterator = dropped.body.makeAsyncIterator()
                #expect(try await iterator.next() != nil)
            }
            let whole = try await client.openBlob(repository, digest)
            #expect(whole.size == Int64(blob.count))
            #expect(whole.offset == 0)
            #expect(try await collect(whole) == blob)

            let rest = try await client.openBlob(repository, digest, from: 5_000_000)
            #expect(rest.offset == 5_000_000)
            #expect(rest.size == Int64(blob.count - 5_000_000))
            #expect(try await collect(rest) == Array(blob[5_000_000...]))

            let unknown = try Digest(algorithm: .sha256, hex: String(repeating: "ab", count: 32))
            await #expect {
                _ = try await client.openBlob(repository, unknown)
            } throws: { error in
                if case ClientError.registry(let status, _, _) = error { return status == 404 }
                return false
            }
            try await client.shutdown()
        }
    }
}
