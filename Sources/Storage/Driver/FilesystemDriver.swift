#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import NIOCore
import NIOPosix

/// Stores files under a root directory, as Distribution's `filesystem` driver does.
/// Blocking system calls run on a thread pool so they never stall the event loops.
public struct FilesystemDriver: StorageDriver {
    public let rootDirectory: String
    /// Temporary files live beside the `docker/` tree, on the same file system (so renames
    /// are atomic) but outside anything Distribution walks.
    let temporaryDirectory: String
    let pool: NIOThreadPool
    /// Uploads with a background sync running, shared by every append to the same file:
    /// chunked uploads append once per PATCH, and overlapping syncs of one file would tie up
    /// the thread pool that the writes need.
    let backgroundSyncs = BackgroundSyncs()
    static let readChunkSize = 1 << 20
    static let writeBatchSize = 1 << 20
    static let syncInterval: Int64 = 32 << 20

    public var name: String { "filesystem" }

    /// An upload's file is written in place, batch after batch, each below the file's size
    /// once written.
    public var readsUnfinishedWrites: Bool { true }

    /// The blocking calls of every filesystem driver in the process. Its own, larger than
    /// NIO's shared pool (one thread per core): a background or final fsync holds a thread
    /// for as long as the disk takes, and with two threads a pull-through fetch's writes and
    /// its readers' reads queued behind it (a mirror's first pull of 1 GiB: about 330 MB/s
    /// with the shared pool, 415–490 with this one, on the 2-core machine).
    public static let blockingCalls: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: max(8, 2 * System.coreCount))
        pool.start()
        return pool
    }()

    public init(rootDirectory: String, threadPool: NIOThreadPool = FilesystemDriver.blockingCalls) throws {
        var root = rootDirectory
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        if !root.hasPrefix("/") {
            root = FileManager.default.currentDirectoryPath + "/" + root
        }
        self.rootDirectory = root
        temporaryDirectory = root + "/.berth-tmp"
        pool = threadPool
        try POSIXFiles.makeDirectories(temporaryDirectory)
        // Temporary files left by a crash are never referenced: drop them. Only old ones:
        // another process on the same root (`berth serve` while `berth gc` or `backup`
        // starts) may be between writing one and renaming it into place.
        let cutoff = Date().timeIntervalSince1970 - Self.staleTemporaryAge
        for name in (try? POSIXFiles.list(temporaryDirectory)) ?? [] {
            let path = temporaryDirectory + "/" + name
            if let info = try? POSIXFiles.info(path), info.modifiedAt < cutoff {
                try? POSIXFiles.removeTree(path)
            }
        }
    }

    /// Temporary files live milliseconds; one this old was left by a crash.
    static let staleTemporaryAge: TimeInterval = 3600

    func fullPath(_ path: StoragePath) -> String {
        path.components.isEmpty ? rootDirectory : rootDirectory + "/" + path.description
    }

    /// Runs blocking work on the thread pool. Errors name paths relative to the root, so
    /// nothing about the host's directories reaches clients or logs of other layers.
    private func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await pool.runIfActive(body)
        } catch StorageError.notFound(let full) {
            throw StorageError.notFound(relative(full))
        } catch StorageError.io(let message) {
            throw StorageError.io(message.replacingOccurrences(of: rootDirectory + "/", with: ""))
        } catch StorageError.readOnly(let message) {
            throw StorageError.readOnly(message.replacingOccurrences(of: rootDirectory + "/", with: ""))
        } catch StorageError.full(let message) {
            throw StorageError.full(message.replacingOccurrences(of: rootDirectory + "/", with: ""))
        }
    }

    /// Less free space than this is reported as full: a push of one ordinary layer would fail.
    static let minimumFreeBytes: UInt64 = 16 * 1024 * 1024

    public func writeProblem() async -> StorageError? {
        let root = rootDirectory
        return try? await pool.runIfActive { POSIXFiles.writeProblem(root, minimumFree: Self.minimumFreeBytes) }
    }

    private func relative(_ full: String) -> String {
        full.hasPrefix(rootDirectory + "/") ? String(full.dropFirst(rootDirectory.count + 1)) : full
    }

    public func getContent(_ path: StoragePath, maxSize: Int) async throws -> [UInt8] {
        let full = fullPath(path)
        return try await run { try POSIXFiles.readAll(full, maxSize: maxSize) }
    }

    public func putContent(_ path: StoragePath, _ content: [UInt8]) async throws {
        let full = fullPath(path)
        let temporary = temporaryDirectory + "/" + UUID().uuidString
        try await run { try POSIXFiles.atomicWrite(content, to: full, temporary: temporary) }
    }

    public func putPrivateContent(_ path: StoragePath, _ content: [UInt8]) async throws {
        let full = fullPath(path)
        let temporary = temporaryDirectory + "/" + UUID().uuidString
        try await run { try POSIXFiles.atomicWrite(content, to: full, temporary: temporary, mode: 0o600) }
    }

    public func createContent(_ path: StoragePath, _ content: [UInt8], privately: Bool) async throws -> Bool {
        let full = fullPath(path)
        let temporary = temporaryDirectory + "/" + UUID().uuidString
        return try await run { try POSIXFiles.exclusiveWrite(content, to: full, temporary: temporary, mode: privately ? 0o600 : 0o644) }
    }

    public func stat(_ path: StoragePath) async throws -> StorageFileInfo {
        let full = fullPath(path)
        return try await run { try POSIXFiles.info(full) }
    }

    public func list(_ path: StoragePath) async throws -> [String] {
        let full = fullPath(path)
        let isRoot = path.components.isEmpty
        return try await run {
            let names = try POSIXFiles.list(full)
            return isRoot ? names.filter { $0 != ".berth-tmp" } : names
        }
    }

    public func move(from source: StoragePath, to destination: StoragePath) async throws {
        let from = fullPath(source), to = fullPath(destination)
        try await run { try POSIXFiles.rename(from, to: to) }
    }

    public func delete(_ path: StoragePath) async throws {
        let full = fullPath(path)
        try await run { try POSIXFiles.removeTree(full) }
    }

    public func walk(_ path: StoragePath, visit: @escaping @Sendable (_ relative: [String], _ children: [String]) -> [String]) async throws {
        let full = fullPath(path)
        try await run {
            var pending: [[String]] = [[]]
            while let relative = pending.popLast() {
                let directory = relative.isEmpty ? full : full + "/" + relative.joined(separator: "/")
                let children: [String]
                do { children = try POSIXFiles.list(directory) } catch StorageError.notFound { continue }
                for child in visit(relative, children).reversed() { pending.append(relative + [child]) }
            }
        }
    }

    public func read(_ path: StoragePath, range: Range<Int64>?,
                     into consumer: (ByteBuffer) async throws -> Void) async throws {
        let full = fullPath(path)
        let fd = try await run { () throws -> Int32 in
            let fd = open(full, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw POSIXFiles.error("open", full) }
            return fd
        }
        defer { close(fd) }
        let start = range?.lowerBound ?? 0
        let end = range?.upperBound ?? Int64.max
        let allocator = ByteBufferAllocator()
        func readChunk(at offset: Int64) async throws -> ByteBuffer {
            let want = Int(min(Int64(Self.readChunkSize), end - offset))
            return try await run { () throws -> ByteBuffer in
                var buffer = allocator.buffer(capacity: want)
                var failure: Int32 = 0
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { ptr in
                    while true {
                        let n = pread(fd, ptr.baseAddress!, want, off_t(offset))
                        if n < 0, errno == EINTR { continue }
                        if n < 0 { failure = errno; return 0 }
                        return n
                    }
                }
                if failure != 0 { throw POSIXFiles.error("read", full, failure) }
                return buffer
            }
        }
        guard start < end else { return }
        // A file that fits in one chunk (a manifest, a link) is one read. For a larger one,
        // the next chunk is read while the consumer sends this one: a blob not in the page
        // cache (evicted, or not read since the machine started) streams at the disk's pace,
        // not at the sum of the disk's and the network's latencies.
        var offset = start
        var chunk = try await readChunk(at: offset)
        while true {
            let wanted = Int(min(Int64(Self.readChunkSize), end - offset))
            offset += Int64(chunk.readableBytes)
            // A short read is the end of the file.
            let next = offset < end && chunk.readableBytes == wanted ? Task { [offset] in try await readChunk(at: offset) } : nil
            if chunk.readableBytes > 0 {
                do {
                    try await consumer(chunk)
                } catch {
                    // The descriptor is closed only once no read is under way.
                    _ = try? await next?.value
                    throw error
                }
            }
            guard let next else { return }
            chunk = try await next.value
        }
    }

    public func writer(_ path: StoragePath, at offset: Int64?) async throws -> any StorageWriter {
        let full = fullPath(path)
        let (fd, size) = try await run { () throws -> (Int32, Int64) in
            let creating = offset == 0
            if creating, let slash = full.lastIndex(of: "/") {
                try POSIXFiles.makeDirectories(String(full[..<slash]))
            }
            let fd = open(full, O_WRONLY | O_CLOEXEC | (creating ? O_CREAT : 0), 0o644)
            guard fd >= 0 else { throw POSIXFiles.error("open", full) }
            // One writer per file at a time, across processes sharing the directory: the
            // offset check and the writes are one step. A second writer is told where the
            // file is, as if the first had already finished.
            let locked = flock(fd, LOCK_EX | LOCK_NB) == 0
            var st = Glibc.stat()
            guard fstat(fd, &st) == 0 else { close(fd); throw POSIXFiles.error("fstat", full) }
            let size = Int64(st.st_size)
            guard locked, offset == nil || size == offset else {
                close(fd)
                throw StorageError.invalidOffset(expected: offset ?? size, actual: size)
            }
            return (fd, size)
        }
        return FilesystemWriter(driver: self, path: path, full: full, fd: fd, size: size)
    }
}

/// A write session on one file: the descriptor holds the file's lock until the session ends.
final class FilesystemWriter: StorageWriter, @unchecked Sendable {
    private let driver: FilesystemDriver
    private let path: StoragePath
    private let full: String
    private var fd: Int32
    private(set) var size: Int64

    init(driver: FilesystemDriver, path: StoragePath, full: String, fd: Int32, size: Int64) {
        self.driver = driver
        self.path = path
        self.full = full
        self.fd = fd
        self.size = size
    }

    deinit { release() }

    /// Unlocked explicitly: a background sync's duplicate descriptor must not hold the lock.
    private func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        Glibc.close(fd)
        fd = -1
    }

    private func requireOpen() throws {
        guard fd >= 0 else { throw StorageError.io("write session on \(path) has ended") }
    }

    func close() async throws { release() }

    func cancel() async throws {
        release()
        try await driver.delete(path)
    }

    func commit(to destination: StoragePath) async throws {
        try requireOpen()
        let fd = self.fd, full = self.full, to = driver.fullPath(destination)
        try await driver.pool.runIfActive {
            guard fsync(fd) == 0 else { throw POSIXFiles.error("fsync", full) }
            if to != full { try POSIXFiles.rename(full, to: to) }
        }
        release()
    }

    func write<Chunks: AsyncSequence>(
        _ chunks: Chunks, observe: (ByteBuffer) -> Void
    ) async throws -> Int64 where Chunks.Element == ByteBuffer {
        try requireOpen()
        let fd = self.fd, full = self.full, offset = size
        // Receiving (and hashing) the next batch overlaps with writing the previous one;
        // at most two batches are held in memory.
        var position = offset
        var written = offset
        var batch: [ByteBuffer] = []
        var batchBytes = 0
        var inFlight: Task<Void, any Error>?
        // After a failed write, nothing more may be written: a later batch would land past
        // a gap and the file would no longer be a prefix of the blob.
        var writeFailed = false
        // With lots of memory the kernel starts writeback late, so a large blob would be
        // flushed all at once by the final fsync. Syncing in the background every
        // `syncInterval` bytes lets the disk work while the rest is still arriving.
        // The sync works on its own duplicate descriptor and may outlive this call; at most
        // one runs per upload at a time.
        let backgroundSyncs = driver.backgroundSyncs
        var unsynced: Int64 = 0
        let pool = driver.pool
        func write(_ buffers: [ByteBuffer], at start: Int64) -> Task<Void, any Error> {
            Task {
                try await pool.runIfActive {
                    var cursor = start
                    for buffer in buffers {
                        try buffer.withUnsafeReadableBytes { bytes in
                            try POSIXFiles.writeFully(fd, bytes, at: cursor, path: full)
                        }
                        cursor += Int64(buffer.readableBytes)
                    }
                }
            }
        }
        func flush() async throws {
            if let previous = inFlight {
                inFlight = nil
                do { try await previous.value } catch { writeFailed = true; throw error }
                unsynced += position - written
                written = position
                if unsynced >= FilesystemDriver.syncInterval, backgroundSyncs.begin(full) {
                    unsynced = 0
                    let duplicate = dup(fd)
                    Task {
                        _ = try? await pool.runIfActive {
                            if duplicate >= 0 { _ = fdatasync(duplicate); Glibc.close(duplicate) }
                        }
                        backgroundSyncs.end(full)
                    }
                }
            }
            guard batchBytes > 0 else { return }
            inFlight = write(batch, at: position)
            position += Int64(batchBytes)
            batch = []
            batchBytes = 0
        }
        do {
            for try await chunk in chunks {
                observe(chunk)
                batch.append(chunk)
                batchBytes += chunk.readableBytes
                if batchBytes >= FilesystemDriver.writeBatchSize { try await flush() }
            }
            try await flush()
            try await flush()
        } catch {
            // Keep what arrived intact so the client can resume from the reported offset.
            if let previous = inFlight, (try? await previous.value) == nil { writeFailed = true }
            if !writeFailed, batchBytes > 0, (try? await write(batch, at: position).value) != nil {
                position += Int64(batchBytes)
            }
            size = writeFailed ? written : position
            throw error
        }
        assert(written == position)
        size = position
        return position
    }
}

/// The files with a background sync running: at most one per file at a time.
final class BackgroundSyncs: @unchecked Sendable {
    private let lock = NSLock()
    private var running: Set<String> = []

    func begin(_ path: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return running.insert(path).inserted
    }

    func end(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        running.remove(path)
    }
}
