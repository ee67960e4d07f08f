import NIOCore
import OCI

/// One blob on its way from an upstream into storage. Readers follow it as it grows; the last
/// byte is handed out only once the whole blob has matched its digest and is stored, so no
/// client ever receives a complete copy of corrupt content.
actor BlobFetch {
    enum State {
        case running
        /// Stored; `spool` holds it all (or nothing when it was already stored).
        case stored(size: Int64)
        case failed(any Error)
    }

    nonisolated let spool: Spool?
    private(set) var written: Int64 = 0
    private(set) var state: State = .running
    /// The upstream has answered the GET with a success status.
    private(set) var responded = false
    /// The size the upstream announced for it (`Content-Length`).
    private(set) var announcedSize: Int64?
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(spool: Spool?) {
        self.spool = spool
    }

    func upstreamResponded(size: Int64?) {
        responded = true
        announcedSize = size
        wake()
    }

    /// Waits until the upstream has answered (or the fetch ended); throws its failure.
    func started() async throws {
        while true {
            if case .failed(let error) = state { throw error }
            if responded { return }
            if case .stored = state { return }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    func progressed(to offset: Int64) {
        written = offset
        wake()
    }

    func finish(_ outcome: State) {
        state = outcome
        wake()
    }

    private func wake() {
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    /// How far a reader at `position` may read: more than `position`, or all of it once stored.
    /// Throws the fetch's failure.
    func readable(beyond position: Int64) async throws -> (limit: Int64, stored: Bool) {
        while true {
            switch state {
            case .failed(let error): throw error
            case .stored(let size): return (size, true)
            case .running:
                // Everything but the last byte written so far: that one waits for the digest.
                let limit = written - 1
                if limit > position { return (limit, false) }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
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
/// KiB at a time; each chunk costs a spool write, a storage write and a wake-up of readers)
/// and copied into the spool as the storage consumes it.
struct SpoolingBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let spool: Spool
    let fetch: BlobFetch
    let expectedSize: Int64?
    static var chunkSize: Int { 1 << 20 }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let spool: Spool
        let fetch: BlobFetch
        let expectedSize: Int64?
        var offset: Int64 = 0
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            var gathered: ByteBuffer?
            while (gathered?.readableBytes ?? 0) < SpoolingBody.chunkSize {
                guard var piece = try await base.next() else { finished = true; break }
                if gathered == nil { gathered = piece } else { gathered!.writeBuffer(&piece) }
            }
            guard let chunk = gathered else { return nil }
            let end = offset + Int64(chunk.readableBytes)
            if let expectedSize, end > expectedSize {
                throw RegistryError(.unavailable, message: "the upstream sent more than the \(expectedSize) bytes it announced")
            }
            try await spool.write(chunk, at: offset)
            offset = end
            await fetch.progressed(to: offset)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), spool: spool, fetch: fetch, expectedSize: expectedSize)
    }
}
