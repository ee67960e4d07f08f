import NIOCore
import OCI
import Storage
import Synchronization

/// The upstream's body into a fetch: each piece hashed as it comes and handed to the readers
/// (and the spool, if any) a chunk's worth at a time, as it is (no copy into bigger buffers:
/// that copy, into freshly mapped pages, was a twentieth of a first pull's CPU).
enum FetchReceiver {
    /// Readers hear of the bytes every this many (each announcement costs them a wake-up and,
    /// with a spool, a spool write)...
    static var chunkSize: Int { 1 << 20 }
    /// ...or this many pieces, when they are small (a slow upstream's).
    static var piecesPerAnnouncement: Int { 64 }

    /// Receives the whole body; returns its size once it matched `digest` (and the fetch
    /// lets readers have the last byte). Throws when the upstream sent more or less than it
    /// announced or other bytes than the digest's, and then no reader gets the last byte.
    static func receive<Body: AsyncSequence>(_ body: Body, into fetch: BlobFetch, expectedSize: Int64?,
                                             digest: Digest) async throws -> Int64 where Body.Element == ByteBuffer {
        var hasher = FetchHasher(algorithm: digest.algorithm)
        var offset: Int64 = 0
        var batch: [ByteBuffer] = []
        var batchBytes = 0
        for try await piece in body {
            let end = offset + Int64(piece.readableBytes)
            if let expectedSize, end > expectedSize {
                throw RegistryError(.unavailable, message: "the upstream sent more than the \(expectedSize) bytes it announced")
            }
            piece.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            offset = end
            batch.append(piece)
            batchBytes += piece.readableBytes
            if batchBytes >= chunkSize || batch.count >= piecesPerAnnouncement {
                try await announce(batch, at: offset - Int64(batchBytes), hashAfter: hasher.resumable, to: fetch)
                batch.removeAll(keepingCapacity: true)
                batchBytes = 0
            }
        }
        try await announce(batch, at: offset - Int64(batchBytes), hashAfter: hasher.resumable, to: fetch)
        if let expectedSize, offset != expectedSize {
            throw RegistryError(.unavailable, message: "the upstream sent \(offset) of the \(expectedSize) bytes it announced")
        }
        let actual = hasher.finalize()
        guard actual == digest else {
            throw RegistryError(.digestInvalid, message: "the upstream sent other content than the digest's",
                                detailJSON: RegistryError.detail(["expected": digest.description, "actual": actual.description]))
        }
        await fetch.verifiedWhole()
        return offset
    }

    private static func announce(_ batch: [ByteBuffer], at offset: Int64, hashAfter: ResumableSHA256?, to fetch: BlobFetch) async throws {
        guard !batch.isEmpty else { return }
        try await fetch.spool?.write(batch, at: offset)
        await fetch.received(batch, at: offset, hashAfter: hashAfter)
    }
}

/// The fetch's check of the digest. A sha256 one (nearly all) is kept in the storage's
/// resumable form: its state after each announcement goes with the bytes to the storage's
/// writer, which then need not hash them a second time.
struct FetchHasher {
    private(set) var resumable: ResumableSHA256?
    private var other: DigestHasher?

    init(algorithm: DigestAlgorithm) {
        if algorithm == .sha256 { resumable = ResumableSHA256() } else { other = DigestHasher(algorithm: algorithm) }
    }

    mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        if resumable != nil { resumable!.update(bufferPointer: bufferPointer) } else { other!.update(bufferPointer: bufferPointer) }
    }

    func finalize() -> Digest { resumable?.finalize() ?? other!.finalize() }
}

/// What the storage's writer writes while the fetch runs: the fetch's bytes from its window,
/// from `start`, until it has them all or falls behind the window (then the sequence ends
/// early, and the rest is written after the fetch).
struct WindowFollower: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let fetch: BlobFetch
    let start: Int64
    /// The fetch's hash state after the last piece handed out, which covers the blob from its
    /// first byte: so only when following from there (the storage keeps it as the upload's
    /// once all of them are written).
    let hashAfterHandedOut = HashState()

    final class HashState: Sendable {
        private let state = Mutex<ResumableSHA256?>(nil)
        var value: ResumableSHA256? {
            get { state.withLock { $0 } }
            set { state.withLock { $0 = newValue } }
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let fetch: BlobFetch
        let hashAfterHandedOut: HashState
        let startedAtZero: Bool
        var position: Int64
        var pending: [ByteBuffer] = []
        var next = 0
        var ended = false

        mutating func next() async throws -> ByteBuffer? {
            if next < pending.count {
                defer { next += 1 }
                return pending[next]
            }
            guard !ended else { return nil }
            switch try await fetch.writerStep(from: position) {
            case .pieces(let pieces, let hashAfter):
                if startedAtZero { hashAfterHandedOut.value = hashAfter }
                pending = pieces
                next = 1
                for piece in pieces { position += Int64(piece.readableBytes) }
                return pieces.first
            case .fellBehind, .end:
                ended = true
                return nil
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(fetch: fetch, hashAfterHandedOut: hashAfterHandedOut, startedAtZero: start == 0, position: start) }
}

/// What the storage's writer missed, from a second source (a ranged GET, or the spool): the
/// first `skipping` bytes are dropped (an upstream that answered the range with the whole
/// blob), and more than `expected` bytes after them are refused before they reach the disk.
struct CatchUpBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let skipping: Int64
    let expected: Int64

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var skipping: Int64
        var remaining: Int64

        mutating func next() async throws -> ByteBuffer? {
            while var piece = try await base.next() {
                if skipping > 0 {
                    let dropped = Int(Swift.min(skipping, Int64(piece.readableBytes)))
                    piece.moveReaderIndex(forwardBy: dropped)
                    skipping -= Int64(dropped)
                    if piece.readableBytes == 0 { continue }
                }
                remaining -= Int64(piece.readableBytes)
                guard remaining >= 0 else {
                    throw RegistryError(.unavailable, message: "the upstream sent more than the rest of the blob it was asked for")
                }
                return piece
            }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), skipping: skipping, remaining: expected) }
}

/// `range` of a spool, a MiB at a time.
struct SpoolChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let spool: Spool
    let range: Range<Int64>

    struct AsyncIterator: AsyncIteratorProtocol {
        let spool: Spool
        var position: Int64
        let end: Int64

        mutating func next() async throws -> ByteBuffer? {
            guard position < end else { return nil }
            let count = Int(Swift.min(end - position, 1 << 20))
            let chunk = try await spool.read(at: position, count: count)
            position += Int64(count)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(spool: spool, position: range.lowerBound, end: range.upperBound) }
}
