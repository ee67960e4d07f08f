import NIOCore
import OCI
import Storage

/// One blob on its way from an upstream into storage. The bytes go to its readers as they
/// arrive, from memory at the head of the fetch; the storage's writer follows the same window
/// but does not hold the readers back: when it falls behind the window, it stops, and the rest
/// is written after the last byte arrived (from the spool, or fetched again from the upstream
/// from where the writer stopped), so the page cache's cost of a first write stays off the
/// client's path. The last byte is handed out only once the whole blob has matched its digest,
/// so no client ever receives a complete copy of corrupt content; the blob is stored only
/// after the storage's own hash of what it wrote matched too.
actor BlobFetch {
    enum State {
        case running
        /// Stored; `spool`, when there is one, holds it all.
        case stored(size: Int64)
        case failed(any Error)
    }

    /// What a reader may do next.
    enum Progress {
        /// Bytes up to `received` have arrived; `verified`: that is the whole blob and it
        /// matched its digest. `change` counts what happened so far (bytes arrived, written).
        case running(received: Int64, verified: Bool, change: Int)
        case stored(size: Int64)
    }

    /// What the storage's writer gets next.
    enum WriterStep {
        /// `hashAfter`: the fetch's sha256 state after them (nil for another algorithm).
        case pieces([ByteBuffer], hashAfter: ResumableSHA256?)
        /// The window moved past the writer's position: the rest is written after the fetch.
        case fellBehind
        /// Every byte is written.
        case end
    }

    /// Where the bytes wait for readers when the upload cannot be read before its commit.
    nonisolated let spool: Spool?
    private(set) var received: Int64 = 0
    /// The fetch's sha256 state after `received` bytes.
    private var hashAtReceived: ResumableSHA256?
    private(set) var state: State = .running
    /// The upstream has answered the GET with a success status.
    private(set) var responded = false
    /// The size the upstream announced for it (`Content-Length`).
    private(set) var announcedSize: Int64?
    /// The upload the bytes go into.
    private(set) var upload: UploadID?
    /// All the bytes are received and match the digest (the commit may still be running).
    private(set) var verified = false
    private var change = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// `expectingReader`: whoever starts the fetch reads it (see `expectReader`).
    init(spool: Spool?, expectingReader: Bool = false) {
        self.spool = spool
        expectedReaders = expectingReader ? 1 : 0
    }

    func upstreamResponded(size: Int64?, upload: UploadID) {
        responded = true
        announcedSize = size
        self.upload = upload
        // The writer follows from the start, even before its task has asked for bytes.
        writerPosition = 0
        change += 1
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
    /// client that asked for the blob) and for the storage's writer while it keeps up. At most
    /// `windowLimit` bytes (plus a chunk) and `windowPieceLimit` pieces are held, shared, not
    /// copied; while the writer lags, up to `writerWindowLimit` and `writerPieceLimit` in all.
    private var window: [(offset: Int64, bytes: ByteBuffer)] = []
    private var windowBytes = 0
    static let windowLimit = 4 << 20
    /// Pieces held at most, whatever their size (`writerPieceLimit` while the writer lags): an
    /// upstream trickling a few bytes per read would otherwise fill the window with thousands
    /// of buffers, each keeping its own storage.
    static let windowPieceLimit = 256
    /// How much the window may hold in all (the readers' part included) while the storage's
    /// writer lags behind the readers: a moment's slack (16 ms at 500 MB/s), so that a writer
    /// descheduled for a moment does not fall behind for good and have the rest fetched a
    /// second time. The readers are never held back for it.
    static let writerWindowLimit = 8 << 20
    static let writerPieceLimit = 1024
    private var windowStart: Int64 { window.first?.offset ?? received }

    /// Where each reader that took bytes from the window has got to, and the writer while it
    /// follows the window. The fetch goes on no faster than the reader furthest ahead (or,
    /// with no reader in the window, than the writer), so the window is never overrun while
    /// that one still takes from it. Readers come first: were the writer to set the pace, a
    /// reader left behind would follow it at the page cache's pace for the rest of the blob.
    private var readers: [Int: Int64] = [:]
    private var nextReader = 0
    private var writerPosition: Int64?
    /// Readers that held the fetch back for a whole `stallCheck` without taking anything (a
    /// client that stopped reading): they no longer set its pace until they take bytes again.
    private var stalled: Set<Int> = []
    /// Counts the steps forward of those setting the pace, for `checkStalls`.
    private var paceSteps = 0
    private var stepsAtLastCheck = 0
    private(set) var waitingForPace = false
    private var paceWaiters: [CheckedContinuation<Void, Never>] = []

    /// Readers announced before they start (a GET's handler prepares the read, then begins
    /// its response): until they come, the fetch keeps the blob's first window for them
    /// (`windowLimit`, however much more a lagging writer has the window hold).
    private var expectedReaders = 0

    func expectReader() {
        // Once the window has left the blob's start, a reader from there reads the storage
        // anyway: holding the fetch for it would only stall the others. (The start may still
        // be held for a lagging writer; past the first window it does not hold readers back.)
        guard windowStart == 0, received <= Int64(Self.windowLimit) else { return }
        expectedReaders += 1
    }

    func addReader(at position: Int64) -> Int {
        expectedReaders = max(expectedReaders - 1, 0)
        nextReader += 1
        readers[nextReader] = position
        // The pace may have been held for this reader, or may now be its.
        wakePace()
        return nextReader
    }

    var readerCount: Int { readers.count }

    func removeReader(_ id: Int) {
        readers[id] = nil
        stalled.remove(id)
        wakePace()
    }

    /// The position of the reader furthest ahead in the window, else of the writer if it is
    /// there; nil when neither is (then the upstream is read as fast as it sends, and the
    /// writer catches up later).
    private var pace: Int64? {
        if expectedReaders > 0, windowStart == 0 { return 0 }
        let start = windowStart
        var lead: Int64?
        for (reader, position) in readers where position >= start && !stalled.contains(reader) { lead = max(lead ?? position, position) }
        if lead == nil, let writerPosition, writerPosition >= start { lead = writerPosition }
        return lead
    }

    /// Whether `count` more pieces of `bytes` would put the window more than its limits ahead
    /// of `lead`.
    private func overruns(_ lead: Int64, adding bytes: Int, pieces count: Int) -> Bool {
        guard received > lead else { return false }
        if received + Int64(bytes) - lead > Int64(Self.windowLimit) { return true }
        var ahead = count
        for piece in window.reversed() {
            guard piece.offset + Int64(piece.bytes.readableBytes) > lead else { break }
            ahead += 1
        }
        return ahead > Self.windowPieceLimit
    }

    /// Adds pieces that arrived, once the one setting the pace is close enough to take them
    /// without the window dropping what it has yet to take.
    func received(_ pieces: [ByteBuffer], at offset: Int64, hashAfter: ResumableSHA256? = nil) async {
        let bytes = pieces.reduce(0) { $0 + $1.readableBytes }
        while case .running = state, let lead = pace, overruns(lead, adding: bytes, pieces: pieces.count) {
            waitingForPace = true
            await withCheckedContinuation { paceWaiters.append($0) }
            waitingForPace = false
        }
        let lead = pace
        var position = offset
        for piece in pieces {
            window.append((position, piece))
            windowBytes += piece.readableBytes
            position += Int64(piece.readableBytes)
        }
        var dropped = 0
        while dropped < window.count,
              windowBytes - window[dropped].bytes.readableBytes >= Self.windowLimit || window.count - dropped > Self.windowPieceLimit,
              lead.map({ window[dropped].offset + Int64(window[dropped].bytes.readableBytes) <= $0 }) ?? true,
              !writerStillNeeds(dropped) {
            windowBytes -= window[dropped].bytes.readableBytes
            dropped += 1
        }
        window.removeFirst(dropped)
        received = position
        hashAtReceived = hashAfter
        change += 1
        wake()
    }

    /// Whether the window's piece at `index`, the first one left, is the writer's next (a
    /// writer whose next piece is gone has fallen behind already), and the window from it
    /// stays within the writer's slack.
    private func writerStillNeeds(_ index: Int) -> Bool {
        guard let writerPosition else { return false }
        let piece = window[index]
        return piece.offset <= writerPosition && writerPosition < piece.offset + Int64(piece.bytes.readableBytes)
            && windowBytes - piece.bytes.readableBytes < Self.writerWindowLimit
            && window.count - index <= Self.writerPieceLimit
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

    /// `recent(range)` for a reader, which is then counted at the range's end.
    func take(_ range: Range<Int64>, reader: Int) -> [ByteBuffer]? {
        guard let slices = recent(range) else { return nil }
        if readers[reader] != nil {
            readers[reader] = range.upperBound
            stalled.remove(reader)
            paceSteps += 1
            wakePace()
        }
        return slices
    }

    /// The storage's writer, at `position`: the bytes received past it, once there are any.
    func writerStep(from position: Int64) async throws -> WriterStep {
        while true {
            if case .failed(let error) = state { throw error }
            if position < windowStart {
                writerFellBehindAt = position
                stopWriting()
                return .fellBehind
            }
            if position < received, let slices = recent(position..<received) {
                writerPosition = received
                paceSteps += 1
                wakePace()
                return .pieces(slices, hashAfter: hashAtReceived)
            }
            writerPosition = position
            if verified, position >= received { return .end }
            await waitForChange()
        }
    }

    /// Where the writer fell behind the window: the upload's bytes past it come from a second
    /// request to the upstream (or the spool), checked only by the commit. Set before any of
    /// them is written; nil while the upload holds only what this fetch received.
    private(set) var writerFellBehindAt: Int64?

    /// Whether the storage's writer follows the window (and sets the pace when no reader does).
    var writerFollows: Bool { writerPosition != nil }

    /// The writer stopped following the window (it fell behind, finished or failed).
    func stopWriting() {
        writerPosition = nil
        wakePace()
    }

    /// Called every `MirroringContent.stallCheck` (2 s) while the fetch runs: the readers
    /// setting the pace of a fetch that waited for them all along, without one step forward,
    /// stop setting it.
    func checkStalls() {
        defer { stepsAtLastCheck = paceSteps }
        guard waitingForPace, paceSteps == stepsAtLastCheck else { return }
        expectedReaders = 0
        let start = windowStart
        for (reader, position) in readers where position >= start { stalled.insert(reader) }
        wakePace()
    }

    /// The writer has written all it took from the window (readers behind it may read it).
    func wrote() {
        change += 1
        wake()
    }

    func verifiedWhole() {
        verified = true
        change += 1
        wake()
    }

    func finish(_ outcome: State) {
        state = outcome
        window = []
        windowBytes = 0
        change += 1
        wake()
        wakePace()
    }

    private func waitForChange() async {
        await withCheckedContinuation { waiters.append($0) }
    }

    private func wakePace() {
        let waiting = paceWaiters
        paceWaiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    private func wake() {
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    /// The fetch's progress once something happened since `seen` (a `change` a reader had),
    /// or it ended. Throws the fetch's failure.
    func progress(after seen: Int) async throws -> Progress {
        while true {
            switch state {
            case .failed(let error): throw error
            case .stored(let size): return .stored(size: size)
            case .running: if change > seen { return .running(received: received, verified: verified, change: change) }
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
    /// `created`: this call started it (counting its caller as an expected reader).
    func join(_ key: String, makeSpool: () throws -> Spool?,
              run: @escaping @Sendable (BlobFetch) async -> Void) throws -> (fetch: BlobFetch, created: Bool) {
        if let fetch = inFlight[key] { return (fetch, false) }
        let fetch = BlobFetch(spool: try makeSpool(), expectingReader: true)
        inFlight[key] = fetch
        Task.detached {
            await run(fetch)
            await self.remove(key, fetch)
        }
        return (fetch, true)
    }

    private func remove(_ key: String, _ fetch: BlobFetch) {
        if inFlight[key] === fetch { inFlight[key] = nil }
    }
}

