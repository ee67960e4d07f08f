import NIOCore
import Storage

/// A storage driver that hands everything to `inner`: tests subclass it to hold back one
/// operation (a commit, a write) until they let it go.
class ForwardingDriver: StorageDriver, @unchecked Sendable {
    let inner: any StorageDriver

    init(inner: any StorageDriver) { self.inner = inner }

    var name: String { "forwarding-\(inner.name)" }
    func getContent(_ path: StoragePath, maxSize: Int) async throws -> [UInt8] { try await inner.getContent(path, maxSize: maxSize) }
    func putContent(_ path: StoragePath, _ content: [UInt8]) async throws { try await inner.putContent(path, content) }
    func createContent(_ path: StoragePath, _ content: [UInt8], privately: Bool) async throws -> Bool {
        try await inner.createContent(path, content, privately: privately)
    }
    func stat(_ path: StoragePath) async throws -> StorageFileInfo { try await inner.stat(path) }
    func list(_ path: StoragePath) async throws -> [String] { try await inner.list(path) }
    func move(from source: StoragePath, to destination: StoragePath) async throws { try await inner.move(from: source, to: destination) }
    func delete(_ path: StoragePath) async throws { try await inner.delete(path) }
    func read(_ path: StoragePath, range: Range<Int64>?, into consumer: (ByteBuffer) async throws -> Void) async throws {
        try await inner.read(path, range: range, into: consumer)
    }
    func writtenSize(_ path: StoragePath) async throws -> Int64 { try await inner.writtenSize(path) }
    var readsUnfinishedWrites: Bool { inner.readsUnfinishedWrites }
    func writer(_ path: StoragePath, at offset: Int64?) async throws -> any StorageWriter { try await inner.writer(path, at: offset) }
}

/// A storage writer that hands everything to `inner`, for the same purpose.
class ForwardingWriter: StorageWriter, @unchecked Sendable {
    let inner: any StorageWriter

    init(inner: any StorageWriter) { self.inner = inner }

    var size: Int64 { inner.size }
    func write<Chunks: AsyncSequence>(_ chunks: Chunks, observe: (ByteBuffer) -> Void) async throws -> Int64 where Chunks.Element == ByteBuffer {
        try await inner.write(chunks, observe: observe)
    }
    func close() async throws { try await inner.close() }
    func cancel() async throws { try await inner.cancel() }
    func commit(to destination: StoragePath) async throws { try await inner.commit(to: destination) }
}
