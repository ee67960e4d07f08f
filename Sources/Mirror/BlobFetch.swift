import NIOCore
import OCI
import Storage

/// One blob on its way from an upstream into storage. Readers follow it as it grows, from
/// the spool or, where the storage lets unfinished uploads be read (a local disk), from the
/// upload itself, so the bytes are written once. The last byte is handed out only once the
/// whole blob has matched its digest, so no client ever receives a complete copy of corrupt
/// content; it does not wait for the blob to be durable (a cache that crashes before its
/// commit fetches the blob again), so the fsync is off the client's path.
actor BlobFetch {
    enum State {
        case running
        /// Stored; `spool`, when there is one, holds it all.
        case stored(size: Int64)
        case failed(any Error)
    }

    /// What a reader may do next.
    enum Progress {
        /// Bytes up to `received` have reached the spool (or the upload's writer); `verified`:
        /// that is the whole blob and it matched its digest.
        case running(received: Int64, verified: Bool)
        case stored(size: Int64)
    }

    /// Where the bytes wait for readers when the upload cannot be read before its commit.
    nonisolated let spool: Spool?
    private(set) var received: Int64 = 0
    private(set) var state: State = .running
    /// The upstream has answered the GET with a success status.
    private(set) var responded = false
    /// The size the upstream announced for it (`Content-Length`).
    private(set) var announcedSize: Int64?
    /// The upload the bytes go into.
    private(set) var upload: UploadID?
    /// All the bytes are received and match the digest (the commit may still be running).
    private(set) var verified = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(spool: Spool?) {
        self.spool = spool
    }

    func upstreamResponded(size: Int64?, upload: UploadID) {
        responded = true
        announcedSize = size
        self.upload = upload
        wake()
    }

    /// Waits until the upstream has answered (or the fetch ended); throws its failure.
    func started() async throws {
        while true {
            if case .failed(let error) = state { throw error }
            if responded { return }
            if case .stored = state { return }
            await waitForChange()
        }
    }

    /// The latest bytes received, for readers at the head of the fetch (most often the
    /// client that asked for the blob): they take them from memory rather than reading them
    /// back from the upload or the spool. Readers further behind read those. At most
    /// `windowLimit` bytes (plus a chunk) are held, shared with the storage's writer, not copied.
    private var window: [(offset: Int64, bytes: ByteBuffer)] = []
    private var windowBytes = 0
    static let windowLimit = 4 << 20
    /// Pieces held at most, whatever their size: an upstream trickling a few bytes per read
    /// would otherwise fill the window with thousands of buffers, each keeping its own storage.
    static let windowPieceLimit = 256

    func received(_ pieces: [ByteBuffer], at offset: Int64) {
        var position = offset
        for piece in pieces {
            window.append((position, piece))
            windowBytes += piece.readableBytes
            position += Int64(piece.readableBytes)
        }
        var dropped = 0
        while dropped < window.count,
              windowBytes - window[dropped].bytes.readableBytes >= Self.windowLimit || window.count - dropped > Self.windowPieceLimit {
            windowBytes -= window[dropped].bytes.readableBytes
            dropped += 1
        }
        window.removeFirst(dropped)
        received = position
        wake()
    }

    /// The received bytes of `range` from memory, or nil when the window has moved past its start.
    func recent(_ range: Range<Int64>) -> [ByteBuffer]? {
        guard let first = window.first, first.offset <= range.lowerBound, range.upperBound <= received else { return nil }
        var slices: [ByteBuffer] = []
        for (offset, bytes) in window {
            let end = offset + Int64(bytes.readableBytes)
            guard end > range.lowerBound, offset < range.upperBound else { continue }
            let from = Int(max(range.lowerBound - offset, 0)), to = Int(min(range.upperBound, end) - offset)
            slices.append(bytes.getSlice(at: bytes.readerIndex + from, length: to - from)!)
        }
        return slices
    }

    func verifiedWhole() {
        verified = true
        wake()
    }

    func finish(_ outcome: State) {
        state = outcome
        window = []
        windowBytes = 0
        wake()
    }

    private func waitForChange() async {
        await withCheckedContinuation { waiters.append($0) }
    }

    private func wake() {
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    /// The fetch's progress once more than `seen` bytes were received (or the verification a
    /// reader has not seen yet happened), or it ended. Throws the fetch's failure.
    func progress(after seen: Int64, sawVerified: Bool = false) async throws -> Progress {
        while true {
            switch state {
            case .failed(let error): throw error
            case .stored(let size): return .stored(size: size)
            case .running: if received > seen || verified != sawVerified { return .running(received: received, verified: verified) }
            }
            await waitForChange()
        }
    }

    /// Waits until the fetch is stored or failed.
    func ended() async {
        while case .running = state { await waitForChange() }
    }
}

/// The blobs being fetched now, by repository and digest: a second client asking for a blob
/// already on its way joins that fetch instead of starting another.
actor BlobFetches {
    private var inFlight: [String: BlobFetch] = [:]

    func existing(_ key: String) -> BlobFetch? { inFlight[key] }

    /// The fetch for `key`, started with `run` when none is in flight. The fetch runs on its
    /// own: a client that disconnects does not stop it (the next one finds the blob stored).
    func join(_ key: String, makeSpool: () throws -> Spool?, run: @escaping @Sendable (BlobFetch) async -> Void) throws -> BlobFetch {
        if let fetch = inFlight[key] { return fetch }
        let fetch = BlobFetch(spool: try makeSpool())
        inFlight[key] = fetch
        Task.detached {
            await run(fetch)
            await self.remove(key, fetch)
        }
        return fetch
    }

    private func remove(_ key: String, _ fetch: BlobFetch) {
        if inFlight[key] === fetch { inFlight[key] = nil }
    }
}

/// The upstream's body, gathered into chunks of about a MiB (the network hands out a few
/// KiB at a time; each chunk costs a storage write, a wake-up of readers and, with a spool,
/// a spool write) and copied into the spool, if any, as the storage consumes it.
struct FetchBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let spool: Spool?
    let fetch: BlobFetch
    let expectedSize: Int64?
    static var chunkSize: Int { 1 << 20 }
    /// Readers also hear of this many pieces at once when they are small (a slow upstream's).
    static var piecesPerAnnouncement: Int { 64 }

    /// Hands the upstream's pieces to the storage's writer as they come (no copy into bigger
    /// buffers: that copy, into freshly mapped pages, was a twentieth of a first pull's CPU),
    /// and tells the readers about them, and spools them, a chunk's worth at a time.
    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let spool: Spool?
        let fetch: BlobFetch
        let expectedSize: Int64?
        /// Bytes handed to the writer.
        var offset: Int64 = 0
        /// Pieces handed to the writer that readers have not been told about yet.
        var unannounced: [ByteBuffer] = []
        var unannouncedBytes = 0
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            guard let piece = try await base.next() else {
                finished = true
                try await announce()
                return nil
            }
            let end = offset + Int64(piece.readableBytes)
            if let expectedSize, end > expectedSize {
                throw RegistryError(.unavailable, message: "the upstream sent more than the \(expectedSize) bytes it announced")
            }
            offset = end
            unannounced.append(piece)
            unannouncedBytes += piece.readableBytes
            if unannouncedBytes >= FetchBody.chunkSize || unannounced.count >= FetchBody.piecesPerAnnouncement { try await announce() }
            return piece
        }

        private mutating func announce() async throws {
            guard !unannounced.isEmpty else { return }
            let start = offset - Int64(unannouncedBytes)
            try await spool?.write(unannounced, at: start)
            await fetch.received(unannounced, at: start)
            unannounced.removeAll(keepingCapacity: true)
            unannouncedBytes = 0
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), spool: spool, fetch: fetch, expectedSize: expectedSize)
    }
}
