import NIOCore

public struct StorageFileInfo: Sendable, Equatable {
    public var size: Int64
    public var modifiedAt: Double
    public var isDirectory: Bool

    public init(size: Int64, modifiedAt: Double, isDirectory: Bool) {
        self.size = size
        self.modifiedAt = modifiedAt
        self.isDirectory = isDirectory
    }
}

/// A place to keep bytes under paths, in the spirit of Distribution's `storagedriver`.
/// Drivers know nothing about registries; the layout lives in `RegistryStore`.
///
/// Guarantees every driver gives:
/// - `putContent`, `move` and `StorageWriter.commit` are atomic: readers see the old content
///   or the new, never a mix.
/// - Missing paths throw `StorageError.notFound`.
/// - `list` of a directory returns the names of its direct children, sorted.
public protocol StorageDriver: Sendable {
    var name: String { get }

    func getContent(_ path: StoragePath, maxSize: Int) async throws -> [UInt8]
    func putContent(_ path: StoragePath, _ content: [UInt8]) async throws
    /// As `putContent`, for secrets (keys): readable by the registry's own user only.
    func putPrivateContent(_ path: StoragePath, _ content: [UInt8]) async throws
    /// Writes `content` at `path` only if nothing is there, atomically with respect to
    /// other processes and replicas; false when something already was. `privately`: as
    /// `putPrivateContent`. Shared state (keys, secrets) is created this way, so replicas
    /// starting at once agree on one value.
    func createContent(_ path: StoragePath, _ content: [UInt8], privately: Bool) async throws -> Bool
    func stat(_ path: StoragePath) async throws -> StorageFileInfo
    func list(_ path: StoragePath) async throws -> [String]
    /// Atomically replaces `destination` with `source`.
    func move(from source: StoragePath, to destination: StoragePath) async throws
    /// Removes a file or a whole directory tree.
    func delete(_ path: StoragePath) async throws

    /// Streams `range` (or all) of a file to `consumer`, one chunk at a time, waiting for
    /// the consumer before reading more.
    func read(_ path: StoragePath, range: Range<Int64>?,
              into consumer: (ByteBuffer) async throws -> Void) async throws

    /// Opens a write session on the file at `path` (see `StorageWriter`): a new, empty file
    /// when there is none and `offset` is 0 or nil, else the bytes earlier sessions left,
    /// which must be exactly `offset` long (any length when nil). One session per path at a
    /// time, across processes and replicas sharing the storage: while one is open, another
    /// is refused with `invalidOffset`, as if the first had already finished.
    func writer(_ path: StoragePath, at offset: Int64?) async throws -> any StorageWriter

    /// The bytes written to `path` so far by write sessions, committed or not: an upload's
    /// offset. Throws `notFound` when nothing was ever written there.
    func writtenSize(_ path: StoragePath) async throws -> Int64

    /// Whether `read` of a file a write session is still writing returns the bytes written
    /// so far (`writtenSize` of them): true of a local file; object storage shows nothing
    /// before the commit.
    var readsUnfinishedWrites: Bool { get }

    /// Whether walking a directory tree is cheap (a local disk) or costs a remote request
    /// per directory (object storage), where indexes are kept as objects instead.
    var walksCheaply: Bool { get }

    /// Every file below `path`, as paths relative to it, sorted; empty when there are none.
    func listFiles(under path: StoragePath) async throws -> [String]

    /// A URL that serves the file at `path` to `method` (GET or HEAD) without Berth, valid
    /// for a limited time, as Distribution's `RedirectURL`; nil when the driver has none.
    func redirectURL(_ path: StoragePath, method: String) async throws -> String?

    /// Walks the directory tree under `path`. `visit` gets each directory's path relative
    /// to `path` and its children's names, and returns the children to descend into.
    /// Drivers override this when they can walk faster than one `list` per directory.
    func walk(_ path: StoragePath, visit: @escaping @Sendable (_ relative: [String], _ children: [String]) -> [String]) async throws

    /// Why a write would fail now (`readOnly` or `full`), when the driver can tell without
    /// writing; nil when it sees nothing wrong or cannot tell (object storage).
    func writeProblem() async -> StorageError?
}

extension StorageDriver {
    public func putPrivateContent(_ path: StoragePath, _ content: [UInt8]) async throws {
        try await putContent(path, content)
    }

    public func getContent(_ path: StoragePath) async throws -> [UInt8] {
        try await getContent(path, maxSize: 64 * 1024 * 1024)
    }

    public func redirectURL(_ path: StoragePath, method: String) async throws -> String? { nil }

    public func writeProblem() async -> StorageError? { nil }

    public var walksCheaply: Bool { true }

    public var readsUnfinishedWrites: Bool { false }

    public func listFiles(under path: StoragePath) async throws -> [String] {
        var files: [String] = []
        var pending: [[String]] = [[]]
        while let relative = pending.popLast() {
            for child in try await listIfPresent(StoragePath(path.components + relative)) {
                let childPath = relative + [child]
                if try await stat(StoragePath(path.components + childPath)).isDirectory {
                    pending.append(childPath)
                } else {
                    files.append(childPath.joined(separator: "/"))
                }
            }
        }
        return files.sorted()
    }

    public func writtenSize(_ path: StoragePath) async throws -> Int64 {
        try await stat(path).size
    }

    public func exists(_ path: StoragePath) async throws -> Bool {
        do {
            _ = try await stat(path)
            return true
        } catch StorageError.notFound {
            return false
        }
    }

    public func walk(_ path: StoragePath, visit: @escaping @Sendable (_ relative: [String], _ children: [String]) -> [String]) async throws {
        var pending: [[String]] = [[]]
        while let relative = pending.popLast() {
            let children = try await listIfPresent(StoragePath(path.components + relative))
            for child in visit(relative, children).reversed() { pending.append(relative + [child]) }
        }
    }

    /// `list`, with a missing directory read as empty.
    public func listIfPresent(_ path: StoragePath) async throws -> [String] {
        do { return try await list(path) } catch StorageError.notFound { return [] }
    }
}

/// A write session on one file, as Distribution's `FileWriter`: the bytes written so far
/// are what an upload's offset is, `commit` is the driver's own way of making them a
/// complete file (a rename on disk, a completed multipart upload on S3), and a session
/// ended with `close` leaves its bytes for a later one to continue.
///
/// Every session ends with exactly one of `close`, `commit` or `cancel`; until then it holds
/// the path's write lock. Calls on one session are not concurrent.
public protocol StorageWriter: AnyObject, Sendable {
    /// Bytes written so far, across every session of this file.
    var size: Int64 { get }

    /// Appends `chunks`; `observe` sees each chunk before it is written. Returns the new
    /// size. If `chunks` throws, the bytes received before stay written (a resumable prefix)
    /// and the session is still open.
    func write<Chunks: AsyncSequence>(
        _ chunks: Chunks, observe: (ByteBuffer) -> Void
    ) async throws -> Int64 where Chunks.Element == ByteBuffer

    /// Ends the session, keeping what was written for a later session.
    func close() async throws

    /// Makes what was written durable and places it at `destination` in one atomic step,
    /// replacing what was there; the in-progress file is gone afterwards. `destination` may
    /// be the writer's own path: the bytes then become an ordinary, readable file there.
    func commit(to destination: StoragePath) async throws

    /// Discards the file and everything written to it.
    func cancel() async throws
}

extension StorageWriter {
    public func write<Chunks: AsyncSequence>(_ chunks: Chunks) async throws -> Int64 where Chunks.Element == ByteBuffer {
        try await write(chunks, observe: { _ in })
    }
}
