import Foundation
import NIOCore
import Storage

/// Every storage driver the shared suites run against. The S3 driver joins this list.
enum DriverKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case filesystem
    case inMemory

    var testDescription: String { rawValue }

    /// Runs `body` with a fresh, empty driver and removes what it stored afterwards.
    /// `make` can be called again to get another driver on the same storage (a "restart").
    func with<T>(_ body: (_ make: () throws -> any StorageDriver) async throws -> T) async throws -> T {
        switch self {
        case .inMemory:
            let driver = InMemoryDriver()
            return try await body { driver }
        case .filesystem:
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-test-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: root) }
            return try await body { try FilesystemDriver(rootDirectory: root) }
        }
    }
}

import Testing

/// An async sequence of byte chunks, optionally failing after some of them (a client that
/// disconnects mid-upload).
struct Chunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let parts: [[UInt8]]
    var failAfter: Int? = nil

    struct DisconnectError: Error {}

    struct AsyncIterator: AsyncIteratorProtocol {
        var parts: [[UInt8]]
        var failAfter: Int?
        var index = 0
        mutating func next() async throws -> ByteBuffer? {
            if let failAfter, index == failAfter { throw DisconnectError() }
            guard index < parts.count else { return nil }
            defer { index += 1 }
            return ByteBuffer(bytes: parts[index])
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(parts: parts, failAfter: failAfter) }
}

func randomBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}
