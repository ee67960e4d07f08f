import Foundation
import NIOCore

/// Keeps everything in memory; for tests and throwaway registries (`storage.inmemory`).
public final class InMemoryDriver: StorageDriver {
    private let state = State()
    public var name: String { "inmemory" }

    public init() {}

    actor State {
        struct File { var bytes: [UInt8]; var modifiedAt: Double }
        var files: [StoragePath: File] = [:]
        /// Files an append is writing: one writer per file, as the filesystem driver's lock.
        var appending: Set<StoragePath> = []

        func get(_ path: StoragePath) throws(StorageError) -> File {
            guard let file = files[path] else { throw StorageError.notFound(path.description) }
            return file
        }

        func put(_ path: StoragePath, _ bytes: [UInt8]) throws(StorageError) {
            guard !isDirectory(path) else { throw StorageError.io("\(path) is a directory") }
            files[path] = File(bytes: bytes, modifiedAt: Date().timeIntervalSince1970)
        }

        func create(_ path: StoragePath, _ bytes: [UInt8]) throws(StorageError) -> Bool {
            guard files[path] == nil else { return false }
            try put(path, bytes)
            return true
        }

        func append(_ path: StoragePath, _ bytes: [UInt8], at offset: Int64) throws(StorageError) {
            var file = files[path] ?? File(bytes: [], modifiedAt: 0)
            guard Int64(file.bytes.count) == offset else {
                throw StorageError.invalidOffset(expected: offset, actual: Int64(file.bytes.count))
            }
            file.bytes += bytes
            file.modifiedAt = Date().timeIntervalSince1970
            files[path] = file
        }

        func beginAppend(_ path: StoragePath, at offset: Int64?) throws(StorageError) -> Int64 {
            guard let file = files[path] else {
                guard offset == 0 else { throw StorageError.notFound(path.description) }
                guard appending.insert(path).inserted else { throw StorageError.invalidOffset(expected: 0, actual: 0) }
                files[path] = File(bytes: [], modifiedAt: Date().timeIntervalSince1970)
                return 0
            }
            let size = Int64(file.bytes.count)
            guard offset == nil || size == offset, appending.insert(path).inserted else {
                throw StorageError.invalidOffset(expected: offset ?? size, actual: size)
            }
            return size
        }

        func endAppend(_ path: StoragePath) {
            appending.remove(path)
        }

        func isDirectory(_ path: StoragePath) -> Bool {
            files.keys.contains { $0.components.count > path.components.count && $0.hasPrefix(path) }
        }

        func stat(_ path: StoragePath) throws(StorageError) -> StorageFileInfo {
            if let file = files[path] {
                return StorageFileInfo(size: Int64(file.bytes.count), modifiedAt: file.modifiedAt, isDirectory: false)
            }
            let children = files.filter { $0.key.components.count > path.components.count && $0.key.hasPrefix(path) }
            guard !children.isEmpty else { throw StorageError.notFound(path.description) }
            return StorageFileInfo(size: 0, modifiedAt: children.values.map(\.modifiedAt).max() ?? 0, isDirectory: true)
        }

        func list(_ path: StoragePath) throws(StorageError) -> [String] {
            let depth = path.components.count
            var names = Set<String>()
            for key in files.keys where key.components.count > depth && key.hasPrefix(path) {
                names.insert(key.components[depth])
            }
            guard !names.isEmpty else { throw StorageError.notFound(path.description) }
            return names.sorted()
        }

        func move(_ source: StoragePath, _ destination: StoragePath) throws(StorageError) {
            guard let file = files.removeValue(forKey: source) else { throw StorageError.notFound(source.description) }
            files[destination] = file
        }

        func delete(_ path: StoragePath) throws(StorageError) {
            let doomed = files.keys.filter { $0.hasPrefix(path) }
            guard !doomed.isEmpty else { throw StorageError.notFound(path.description) }
            for key in doomed { files.removeValue(forKey: key) }
        }
    }

    public func getContent(_ path: StoragePath, maxSize: Int) async throws -> [UInt8] {
        let bytes = try await state.get(path).bytes
        guard bytes.count <= maxSize else { throw StorageError.io("\(path) is larger than \(maxSize) bytes") }
        return bytes
    }

    public func putContent(_ path: StoragePath, _ content: [UInt8]) async throws {
        try await state.put(path, content)
    }

    public func createContent(_ path: StoragePath, _ content: [UInt8], privately: Bool) async throws -> Bool {
        try await state.create(path, content)
    }

    public func stat(_ path: StoragePath) async throws -> StorageFileInfo { try await state.stat(path) }
    public func list(_ path: StoragePath) async throws -> [String] { try await state.list(path) }
    public func move(from source: StoragePath, to destination: StoragePath) async throws {
        try await state.move(source, destination)
    }
    public func delete(_ path: StoragePath) async throws { try await state.delete(path) }

    public func read(_ path: StoragePath, range: Range<Int64>?,
                     into consumer: (ByteBuffer) async throws -> Void) async throws {
        let bytes = try await state.get(path).bytes
        let lower = Int(min(range?.lowerBound ?? 0, Int64(bytes.count)))
        let upper = Int(min(range?.upperBound ?? Int64(bytes.count), Int64(bytes.count)))
        var start = lower
        while start < upper {
            let end = min(start + 1 << 20, upper)
            try await consumer(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
    }

    public func writer(_ path: StoragePath, at offset: Int64?) async throws -> any StorageWriter {
        let size = try await state.beginAppend(path, at: offset)
        return InMemoryWriter(state: state, path: path, size: size)
    }

    /// A write session; the state's writer set is its lock.
    final class InMemoryWriter: StorageWriter, @unchecked Sendable {
        private let state: State
        private let path: StoragePath
        private(set) var size: Int64
        private var open = true

        init(state: State, path: StoragePath, size: Int64) {
            self.state = state
            self.path = path
            self.size = size
        }

        deinit {
            if open { let state = self.state, path = self.path; Task { await state.endAppend(path) } }
        }

        private func end() async {
            guard open else { return }
            open = false
            await state.endAppend(path)
        }

        func write<Chunks: AsyncSequence>(
            _ chunks: Chunks, observe: (ByteBuffer) -> Void
        ) async throws -> Int64 where Chunks.Element == ByteBuffer {
            guard open else { throw StorageError.io("write session on \(path) has ended") }
            for try await chunk in chunks {
                observe(chunk)
                try await state.append(path, Array(chunk.readableBytesView), at: size)
                size += Int64(chunk.readableBytes)
            }
            return size
        }

        func close() async throws { await end() }

        func commit(to destination: StoragePath) async throws {
            guard open else { throw StorageError.io("write session on \(path) has ended") }
            if destination != path { try await state.move(path, destination) }
            await end()
        }

        func cancel() async throws {
            await end()
            try await state.delete(path)
        }
    }
}
