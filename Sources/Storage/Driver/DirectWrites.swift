#if canImport(Glibc)
import Glibc
#endif

/// The bulk of an upload written around the page cache (O_DIRECT). A blob is written once
/// and rarely read back at once, yet copying it into the page cache costs the CPU about as
/// much as receiving it (and far more on a VM, where fresh page-cache pages fault on the
/// host): a mirror's first pull, CPU-bound on two cores, spent half its system time there.
/// Bytes are gathered into one aligned buffer and written a MiB at a time; the few bytes
/// before the first aligned offset of a write session and after its last go through the
/// page cache. Where the filesystem refuses direct I/O (tmpfs, some network filesystems),
/// everything goes through the page cache as before.
///
/// Used by one write at a time (the writer awaits each before the next).
final class DirectWrites: @unchecked Sendable {
    /// Offsets, lengths and buffer addresses of direct writes are multiples of this (a
    /// page: what every Linux filesystem accepts).
    let alignment: Int
    static let capacity = 1 << 20
    /// Glibc hides O_DIRECT behind _GNU_SOURCE; its value is fixed per architecture.
    #if arch(arm64) || arch(arm)
    static let directFlag: Int32 = 0o200000
    #else
    static let directFlag: Int32 = 0o40000
    #endif

    private let path: String
    private var directDescriptor: Int32 = -1
    private var refused = false
    private var stage: UnsafeMutableRawPointer?
    private var staged = 0
    /// The file offset of the stage's first byte (aligned).
    private var stageOffset: Int64 = 0
    /// Every byte before this offset is in the file.
    private(set) var writtenEnd: Int64
    /// How many went around the page cache (none where the filesystem refuses).
    private(set) var writtenDirectly: Int64 = 0

    init(path: String, from offset: Int64, alignment: Int = 4096) {
        self.path = path
        self.alignment = alignment
        writtenEnd = offset
    }

    deinit {
        if directDescriptor >= 0 { close(directDescriptor) }
        free(stage)
    }

    /// Nothing waits in the stage.
    var isIdle: Bool { staged == 0 }

    /// Writes `bytes`, which follow the bytes given before, at `offset`, through the page
    /// cache; only while nothing is staged.
    func writeBuffered(_ bytes: UnsafeRawBufferPointer, at offset: Int64, through descriptor: Int32) throws {
        precondition(isIdle, "staged bytes would be overtaken")
        try POSIXFiles.writeFully(descriptor, bytes, at: offset, path: path)
        writtenEnd = offset + Int64(bytes.count)
    }

    /// Writes `bytes`, which follow the bytes given before, at `offset`. Some may stay in the
    /// stage until the next call or `drain`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64, through descriptor: Int32) throws {
        var bytes = bytes
        var offset = offset
        while !bytes.isEmpty {
            if staged == 0 {
                let misalignment = Int(offset % Int64(alignment))
                if refused || misalignment != 0 {
                    let count = refused ? bytes.count : min(bytes.count, alignment - misalignment)
                    try POSIXFiles.writeFully(descriptor, UnsafeRawBufferPointer(rebasing: bytes.prefix(count)), at: offset, path: path)
                    offset += Int64(count)
                    writtenEnd = offset
                    bytes = UnsafeRawBufferPointer(rebasing: bytes.dropFirst(count))
                    continue
                }
                stageOffset = offset
            }
            let stage = try allocatedStage()
            let count = min(bytes.count, Self.capacity - staged)
            (stage + staged).copyMemory(from: bytes.baseAddress!, byteCount: count)
            staged += count
            offset += Int64(count)
            bytes = UnsafeRawBufferPointer(rebasing: bytes.dropFirst(count))
            if staged == Self.capacity { try writeStage(through: descriptor) }
        }
    }

    /// Writes what the stage holds: its aligned part directly, the rest through the page cache.
    func drain(through descriptor: Int32) throws {
        try writeStage(through: descriptor)
    }

    private func writeStage(through descriptor: Int32) throws {
        guard staged > 0, let stage else { return }
        let aligned = staged - staged % alignment
        var done = 0
        if aligned > 0, let direct = directDescriptorIfAllowed() {
            while done < aligned {
                let n = pwrite(direct, stage + done, aligned - done, off_t(stageOffset) + off_t(done))
                if n < 0, errno == EINTR { continue }
                if n < 0, errno == EINVAL {
                    // An alignment this filesystem does not accept: the page cache from now on.
                    refused = true
                    break
                }
                if n < 0 { throw POSIXFiles.error("write", path) }
                done += n
                writtenDirectly += Int64(n)
                if n % alignment != 0 { break }
            }
        }
        try POSIXFiles.writeFully(descriptor, UnsafeRawBufferPointer(start: stage + done, count: staged - done),
                                  at: stageOffset + Int64(done), path: path)
        stageOffset += Int64(staged)
        writtenEnd = stageOffset
        staged = 0
    }

    private func directDescriptorIfAllowed() -> Int32? {
        if refused { return nil }
        if directDescriptor < 0 {
            directDescriptor = open(path, O_WRONLY | O_CLOEXEC | Self.directFlag)
            if directDescriptor < 0 {
                refused = true
                return nil
            }
        }
        return directDescriptor
    }

    private func allocatedStage() throws -> UnsafeMutableRawPointer {
        if let stage { return stage }
        var allocated: UnsafeMutableRawPointer?
        guard posix_memalign(&allocated, alignment, Self.capacity) == 0, let allocated else {
            throw StorageError.io("cannot allocate a write buffer for \(path)")
        }
        stage = allocated
        return allocated
    }
}
