@testable import Mirror
import Foundation
import NIOCore
import OCI
import Storage
import Testing

/// A reader at the head of a fetch takes the bytes from memory; one that fell further behind
/// than the window is sent back to the storage. The fetch goes at the pace of whoever is
/// furthest ahead in the window; the storage's writer follows it as far as it keeps up.
@Suite struct BlobFetchWindowTests {
    func chunk(_ value: UInt8, _ count: Int) -> ByteBuffer { ByteBuffer(bytes: [UInt8](repeating: value, count: count)) }

    func digest(of pieces: [ByteBuffer]) -> Digest {
        var hasher = DigestHasher(algorithm: .sha256)
        for piece in pieces { piece.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
        return hasher.finalize()
    }

    func stream(_ pieces: [ByteBuffer]) -> AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            for piece in pieces { continuation.yield(piece) }
            continuation.finish()
        }
    }

    /// A reader taking every byte of a `size`-byte blob as it arrives.
    func takingEverything(_ fetch: BlobFetch, as reader: Int, size: Int64) -> Task<Void, any Error> {
        Task {
            var position: Int64 = 0
            while position < size {
                await until { await fetch.received > position }
                let received = await fetch.received
                for slice in try #require(await fetch.take(position..<received, reader: reader)) { position += Int64(slice.readableBytes) }
            }
        }
    }

    /// Waits for a condition (never for a duration).
    func until(_ condition: () async -> Bool) async {
        while await !condition() { await Task.yield() }
    }

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

    /// The receiver hashes the upstream's pieces as they come, hands them on as they are (the
    /// spool gets every byte) and lets readers have the last byte only once the digest matched.
    @Test func theReceiverVerifiesAndSpoolsEveryByte() async throws {
        let pieceSize = 64 * 1024, count = 40
        let pieces = (0..<count).map { chunk(UInt8($0), pieceSize) }
        let spool = try Spool(directory: NSTemporaryDirectory())
        let fetch = BlobFetch(spool: spool)
        let size = try await FetchReceiver.receive(stream(pieces), into: fetch, expectedSize: Int64(count * pieceSize),
                                                   digest: digest(of: pieces))
        #expect(size == Int64(count * pieceSize))
        #expect(await fetch.received == size)
        #expect(await fetch.verified)
        var whole = ByteBuffer()
        for var piece in pieces { whole.writeBuffer(&piece) }
        #expect(try await spool.read(at: 0, count: count * pieceSize) == whole)
        let tail = try #require(await fetch.recent(size - Int64(pieceSize)..<size))
        #expect(tail == [pieces[count - 1]], "the pieces are held as they came, not copied into bigger buffers")
    }

    @Test func otherBytesThanTheDigestsAreNeverVerified() async throws {
        let pieces = [chunk(1, 1000), chunk(2, 1000)]
        let fetch = BlobFetch(spool: nil)
        await #expect(throws: RegistryError.self) {
            _ = try await FetchReceiver.receive(stream(pieces), into: fetch, expectedSize: 2000, digest: digest(of: [chunk(1, 2000)]))
        }
        #expect(await fetch.received == 2000)
        #expect(await !fetch.verified, "readers never get the last byte of a corrupt blob")
    }

    @Test func moreOrLessThanTheUpstreamAnnouncedIsRefused() async throws {
        let pieces = [chunk(1, 600), chunk(2, 600)]
        let fetch = BlobFetch(spool: nil)
        await #expect(throws: RegistryError.self) {
            _ = try await FetchReceiver.receive(stream(pieces), into: fetch, expectedSize: 1000, digest: digest(of: pieces))
        }
        #expect(await fetch.received == 0, "nothing of an oversized body reaches readers")
        let short = BlobFetch(spool: nil)
        await #expect(throws: RegistryError.self) {
            _ = try await FetchReceiver.receive(stream(pieces), into: short, expectedSize: 1300, digest: digest(of: pieces))
        }
        #expect(await !short.verified)
    }

    /// A slow upstream's many small pieces: the window keeps a bounded number of them (a
    /// reader further behind reads the storage).
    @Test func theWindowHoldsABoundedNumberOfSmallPieces() async throws {
        let count = 1000, size = 10
        let pieces = (0..<count).map { chunk(UInt8($0 % 256), size) }
        let fetch = BlobFetch(spool: nil)
        _ = try await FetchReceiver.receive(stream(pieces), into: fetch, expectedSize: Int64(count * size), digest: digest(of: pieces))
        #expect(await fetch.recent(0..<Int64(size)) == nil, "the oldest pieces left the window")
        let held = BlobFetch.windowPieceLimit
        let slices = try #require(await fetch.recent(Int64((count - held) * size)..<Int64(count * size)))
        #expect(slices.count == held)
        #expect(await fetch.recent(Int64((count - held - 1) * size)..<Int64(count * size)) == nil)
    }

    /// The reader furthest ahead sets the pace: the upstream is not read further than a window
    /// ahead of it; a reader that stops taking for a whole stall check no longer holds it.
    @Test func theReaderFurthestAheadSetsThePaceUntilItStalls() async throws {
        let mib = 1 << 20, count = 8
        let pieces = (0..<count).map { chunk(UInt8($0), mib) }
        let fetch = BlobFetch(spool: nil)
        let reader = await fetch.addReader(at: 0)
        let receiving = Task {
            try await FetchReceiver.receive(stream(pieces), into: fetch, expectedSize: Int64(count * mib), digest: digest(of: pieces))
        }
        await until { await fetch.received >= Int64(BlobFetch.windowLimit) }
        #expect(await fetch.received == Int64(BlobFetch.windowLimit), "a window ahead of the reader, no more")
        #expect(try #require(await fetch.take(0..<Int64(mib), reader: reader)) == [pieces[0]])
        await until { await fetch.received >= Int64(BlobFetch.windowLimit + mib) }
        #expect(await fetch.received == Int64(BlobFetch.windowLimit + mib))
        // The reader stops taking: one check records where the pace was, the next finds no
        // step forward since and lets the fetch go on without it.
        await until { await fetch.waitingForPace }
        await fetch.checkStalls()
        await fetch.checkStalls()
        #expect(try await receiving.value == Int64(count * mib))
        #expect(await fetch.verified)
    }

    /// A GET's reader is announced before its response begins: the fetch keeps the blob's
    /// start for it until it comes; once the window has left the start, nothing is held.
    @Test func anAnnouncedReaderHasTheBlobsStartKeptForIt() async throws {
        let mib = 1 << 20, count = 8
        let pieces = (0..<count).map { chunk(UInt8($0), mib) }
        let fetch = BlobFetch(spool: nil)
        await fetch.expectReader()
        let receiving = Task {
            try await FetchReceiver.receive(stream(pieces), into: fetch, expectedSize: Int64(count * mib), digest: digest(of: pieces))
        }
        await until { await fetch.waitingForPace }
        #expect(await fetch.received == Int64(BlobFetch.windowLimit))
        let reader = await fetch.addReader(at: 0)
        #expect(try #require(await fetch.take(0..<Int64(count * mib / 2), reader: reader)) == Array(pieces[0..<count / 2]))
        await fetch.removeReader(reader)
        #expect(try await receiving.value == Int64(count * mib))
        await fetch.expectReader()
        #expect(await fetch.recent(0..<1) == nil)
        let late = BlobFetch(spool: nil)
        await late.received([chunk(1, mib)], at: 0)
        for index in 1..<count { await late.received([chunk(UInt8(index), mib)], at: Int64(index * mib)) }
        await late.expectReader()
        #expect(await !late.waitingForPace, "a reader announced after the window left the start holds nothing")
    }

    /// The storage's writer gets every byte while it keeps up (and then sets the pace when no
    /// reader does); once the window has moved past it, it stops, to write the rest later.
    @Test func theWriterFollowsTheWindowUntilItFallsBehind() async throws {
        let mib = 1 << 20, count = 8
        let pieces = (0..<count).map { chunk(UInt8($0), mib) }
        let following = BlobFetch(spool: nil)
        let written = Task {
            var bytes = 0
            for try await piece in WindowFollower(fetch: following, start: 0) { bytes += piece.readableBytes }
            return bytes
        }
        await until { await following.writerFollows }
        _ = try await FetchReceiver.receive(stream(pieces), into: following, expectedSize: Int64(count * mib), digest: digest(of: pieces))
        #expect(try await written.value == count * mib)

        // A reader takes everything as it comes while the writer is held back.
        let behind = BlobFetch(spool: nil)
        let reader = await behind.addReader(at: 0)
        let taking = takingEverything(behind, as: reader, size: Int64(count * mib))
        _ = try await FetchReceiver.receive(stream(pieces), into: behind, expectedSize: Int64(count * mib), digest: digest(of: pieces))
        try await taking.value
        var iterator = WindowFollower(fetch: behind, start: 0).makeAsyncIterator()
        #expect(try await iterator.next() == nil, "the window has moved past the writer")
        var resumed = WindowFollower(fetch: behind, start: Int64((count - 1) * mib)).makeAsyncIterator()
        #expect(try await resumed.next() == pieces[count - 1], "a writer still within the window gets its bytes")
    }

    /// A writer lagging behind a reader keeps its bytes in the window up to its slack (a
    /// writer descheduled for a moment does not fall behind for good, and nothing is fetched
    /// twice); beyond the slack, it falls behind.
    @Test(arguments: [false, true])
    func theWindowKeepsALaggingWritersBytesUpToItsSlack(beyondTheSlack: Bool) async throws {
        let mib = 1 << 20
        // The whole slack (twice the readers' window), or a MiB more.
        let count = BlobFetch.writerWindowLimit / mib + (beyondTheSlack ? 1 : 0)
        let pieces = (0..<count).map { chunk(UInt8($0 % 251), mib) }
        let fetch = BlobFetch(spool: nil)
        // The writer follows from the start (as once the upstream answered), but takes nothing yet.
        await fetch.upstreamResponded(size: Int64(count * mib), upload: UploadID.random())
        let reader = await fetch.addReader(at: 0)
        let taking = takingEverything(fetch, as: reader, size: Int64(count * mib))
        _ = try await FetchReceiver.receive(stream(pieces), into: fetch, expectedSize: Int64(count * mib), digest: digest(of: pieces))
        try await taking.value
        var written = 0
        for try await piece in WindowFollower(fetch: fetch, start: 0) { written += piece.readableBytes }
        if beyondTheSlack {
            #expect(written == 0, "the window moved past the writer")
        } else {
            #expect(written == count * mib, "the writer got every byte, \(count) MiB behind the reader")
        }
    }

    /// A late GET is awaited (the readers held for it) only while the fetch is within its first
    /// window, even when a lagging writer has the window keep the blob's start longer.
    @Test func aLateReaderIsNotAwaitedPastTheFirstWindowWhileTheWriterKeepsTheStart() async throws {
        let mib = 1 << 20
        let fetch = BlobFetch(spool: nil)
        await fetch.upstreamResponded(size: nil, upload: UploadID.random())
        let reader = await fetch.addReader(at: 0)
        for index in 0..<6 {
            await fetch.received([chunk(UInt8(index), mib)], at: Int64(index * mib))
            _ = try #require(await fetch.take(Int64(index * mib)..<Int64((index + 1) * mib), reader: reader))
        }
        #expect(await fetch.recent(0..<1) != nil, "the start is kept for the writer")
        await fetch.expectReader()
        let more = Task { await fetch.received([chunk(6, mib)], at: Int64(6 * mib)) }
        await until {
            let received = await fetch.received, waiting = await fetch.waitingForPace
            return received == Int64(7 * mib) || waiting
        }
        #expect(await !fetch.waitingForPace, "the reader at the head was held for the late one")
        #expect(await fetch.received == Int64(7 * mib))
        // Ends a fetch held by mistake too, so that a failure does not hang the run.
        await fetch.finish(.stored(size: Int64(7 * mib)))
        await more.value
    }

    /// The bytes the writer missed, from an upstream that sent the whole blob to a ranged GET:
    /// the first ones are dropped, whatever the pieces' sizes; more than the rest asked for is
    /// refused before it is handed on (to the disk).
    @Test func aCatchUpDropsWhatWasWrittenAlreadyAndRefusesMoreThanTheRest() async throws {
        let pieces = [chunk(1, 300), chunk(2, 300), chunk(3, 300)]
        var collected: [UInt8] = []
        for try await piece in CatchUpBody(base: stream(pieces), skipping: 450, expected: 450) { collected += piece.readableBytesView }
        #expect(collected == [UInt8](repeating: 2, count: 150) + [UInt8](repeating: 3, count: 300))
        var iterator = CatchUpBody(base: stream(pieces), skipping: 450, expected: 400).makeAsyncIterator()
        #expect(try await iterator.next()?.readableBytes == 150)
        await #expect(throws: RegistryError.self) { _ = try await iterator.next() }
    }
}
