@testable import Mirror
import Foundation
import NIOCore
import Testing

/// A reader at the head of a fetch takes the bytes from memory; one that fell further behind
/// than the window is sent back to the storage.
@Suite struct BlobFetchWindowTests {
    func chunk(_ value: UInt8, _ count: Int) -> ByteBuffer { ByteBuffer(bytes: [UInt8](repeating: value, count: count)) }

    @Test func recentBytesComeFromMemoryWithinTheWindow() async throws {
        let fetch = BlobFetch(spool: nil)
        let size = 1 << 20
        for index in 0..<8 { await fetch.received([chunk(UInt8(index), size)], at: Int64(index * size)) }
        #expect(await fetch.received == Int64(8 * size))
        // 4 MiB are held: chunks 4...7 (the oldest is dropped once the rest fill the window).
        #expect(await fetch.recent(Int64(3 * size)..<Int64(4 * size)) == nil)
        let slices = try #require(await fetch.recent(Int64(4 * size + 10)..<Int64(6 * size + 5)))
        #expect(slices.map(\.readableBytes) == [size - 10, size, 5])
        #expect(slices.map { $0.getInteger(at: $0.readerIndex, as: UInt8.self) } == [4, 5, 6])
        // Nothing past what was received.
        #expect(await fetch.recent(Int64(7 * size)..<Int64(8 * size + 1)) == nil)
        await fetch.finish(.stored(size: Int64(8 * size)))
        #expect(await fetch.recent(Int64(7 * size)..<Int64(8 * size)) == nil, "a finished fetch lets its memory go")
    }

    @Test func piecesReceivedTogetherKeepTheirOffsets() async throws {
        let fetch = BlobFetch(spool: nil)
        await fetch.received((0..<10).map { chunk(UInt8($0), 1000) }, at: 0)
        #expect(await fetch.received == 10_000)
        let slices = try #require(await fetch.recent(2500..<4500))
        #expect(slices.map(\.readableBytes) == [500, 1000, 500])
        #expect(slices.map { $0.getInteger(at: $0.readerIndex, as: UInt8.self) } == [2, 3, 4])
    }

    /// The upstream's pieces go to the storage's writer as they are, and readers hear of them
    /// (and the spool gets them) a chunk at a time, never ahead of the writer.
    @Test func fetchBodyHandsPiecesOnAndAnnouncesThemByChunk() async throws {
        let pieceSize = 64 * 1024, count = 40
        let pieces = (0..<count).map { chunk(UInt8($0), pieceSize) }
        let spool = try Spool(directory: NSTemporaryDirectory())
        let fetch = BlobFetch(spool: spool)
        let upstream = AsyncStream<ByteBuffer> { continuation in
            for piece in pieces { continuation.yield(piece) }
            continuation.finish()
        }
        var iterator = FetchBody(base: upstream, spool: spool, fetch: fetch, expectedSize: Int64(count * pieceSize)).makeAsyncIterator()
        var handed: [ByteBuffer] = []
        while let piece = try await iterator.next() {
            handed.append(piece)
            let wholeChunks = handed.count * pieceSize / FetchBody<AsyncStream<ByteBuffer>>.chunkSize
            #expect(await fetch.received == Int64(wholeChunks * FetchBody<AsyncStream<ByteBuffer>>.chunkSize))
        }
        #expect(handed == pieces)
        #expect(await fetch.received == Int64(count * pieceSize), "the last, partial chunk is announced at the end")
        var whole = ByteBuffer()
        for var piece in pieces { whole.writeBuffer(&piece) }
        #expect(try await spool.read(at: 0, count: count * pieceSize) == whole)
    }

    @Test func moreThanTheUpstreamAnnouncedIsRefused() async throws {
        let fetch = BlobFetch(spool: nil)
        let upstream = AsyncStream<ByteBuffer> { continuation in
            continuation.yield(chunk(1, 600))
            continuation.yield(chunk(2, 600))
            continuation.finish()
        }
        var iterator = FetchBody(base: upstream, spool: nil, fetch: fetch, expectedSize: 1000).makeAsyncIterator()
        #expect(try await iterator.next()?.readableBytes == 600)
        await #expect(throws: (any Error).self) { _ = try await iterator.next() }
        #expect(await fetch.received == 0, "nothing of an oversized body reaches readers")
    }

    /// A slow upstream's many small pieces: readers hear of them every few dozen pieces, and the
    /// window keeps a bounded number of them (a reader further behind reads the storage).
    @Test func smallPiecesAreAnnouncedByCountAndTheWindowHoldsFewOfThem() async throws {
        typealias Body = FetchBody<AsyncStream<ByteBuffer>>
        let count = 1000, size = 10
        let fetch = BlobFetch(spool: nil)
        let upstream = AsyncStream<ByteBuffer> { continuation in
            for index in 0..<count { continuation.yield(chunk(UInt8(index % 256), size)) }
            continuation.finish()
        }
        var iterator = Body(base: upstream, spool: nil, fetch: fetch, expectedSize: Int64(count * size)).makeAsyncIterator()
        var handed = 0
        while try await iterator.next() != nil {
            handed += 1
            #expect(await fetch.received == Int64(handed / Body.piecesPerAnnouncement * Body.piecesPerAnnouncement * size))
        }
        #expect(await fetch.received == Int64(count * size))
        #expect(await fetch.recent(0..<Int64(size)) == nil, "the oldest pieces left the window")
        let held = BlobFetch.windowPieceLimit
        let slices = try #require(await fetch.recent(Int64((count - held) * size)..<Int64(count * size)))
        #expect(slices.count == held)
        #expect(await fetch.recent(Int64((count - held - 1) * size)..<Int64(count * size)) == nil)
    }
}
