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
/// - `putContent` and `move` are atomic: readers see the old content or the new, never a mix.
/// - Missing paths throw `StorageError.notFound`.
/// - `list` of a directory returns the names of its direct children, sorted.
public protocol StorageDriver: Sendable {
    var name: String { get }

    func getContent(_ path: StoragePath, maxSize: Int) async throws -> [UInt8]
    func putContent(_ path: StoragePath, _ content: [UInt8]) async throws
    /// As `putContent`, for secrets (keys): readable by the registry's own user only.
    func putPrivateContent(_ path: StoragePath, _ content: [UInt8]) async throws
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

    /// Appends `chunks` to the file at `path` (created if `offset` is 0), which must
    /// currently be exactly `offset` bytes long. `observe` sees each chunk before it is
    /// written. Returns the new size. Call `sync` before relying on the data surviving a
    /// power loss.
    /// If `chunks` throws, bytes received so far stay written (a resumable prefix).
    func append<Chunks: AsyncSequence>(
        to path: StoragePath, at offset: Int64, from chunks: Chunks,
        observe: (ByteBuffer) -> Void
    ) async throws -> Int64 where Chunks.Element == ByteBuffer

    /// Makes a file's content durable.
    func sync(_ path: StoragePath) async throws

    /// Walks the directory tree under `path`. `visit` gets each directory's path relative
    /// to `path` and its children's names, and returns the children to descend into.
    /// Drivers override this when they can walk faster than one `list` per directory.
    func walk(_ path: StoragePath, visit: @escaping @Sendable (_ relative: [String], _ children: [String]) -> [String]) async throws
}

extension StorageDriver {
    public func putPrivateContent(_ path: StoragePath, _ content: [UInt8]) async throws {
        try await putContent(path, content)
    }

    public func getContent(_ path: StoragePath) async throws -> [UInt8] {
        try await getContent(path, maxSize: 64 * 1024 * 1024)
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
