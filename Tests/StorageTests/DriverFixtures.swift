import Foundation
import Logging
import NIOCore
@testable import Storage

/// Every storage driver the shared suites run against. S3 needs a server:
/// `BERTH_TEST_S3=http://HOST:PORT` with the key pair of one of its users in
/// `BERTH_TEST_S3_ACCESS_KEY`/`_SECRET_KEY` (scripts/test.sh starts Ceph's radosgw);
/// without it the S3 cases fail under CI=true and are left out elsewhere.
enum DriverKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case filesystem
    case inMemory
    case s3

    static let s3Endpoint = ProcessInfo.processInfo.environment["BERTH_TEST_S3"]
    static let s3Credentials = AWSCredentials(
        accessKey: ProcessInfo.processInfo.environment["BERTH_TEST_S3_ACCESS_KEY"] ?? "berth-test",
        secretKey: ProcessInfo.processInfo.environment["BERTH_TEST_S3_SECRET_KEY"] ?? "berth-test-secret")

    /// An S3 configuration on a new bucket of the test server, with the smallest parts S3
    /// allows so that multipart uploads and copies happen at test sizes.
    static func s3Configuration(bucket: String) -> S3Configuration? {
        guard let endpoint = s3Endpoint else { return nil }
        var c = S3Configuration(bucket: bucket, region: "us-east-1", credentials: s3Credentials)
        c.regionEndpoint = endpoint
        c.forcePathStyle = true
        c.secure = false
        c.rootDirectory = "/registry-v2"
        c.chunkSize = S3Configuration.minimumChunkSize
        c.multipartCopyChunkSize = S3Configuration.minimumChunkSize
        c.multipartCopyThresholdSize = S3Configuration.minimumChunkSize
        return c
    }

    /// Creates `bucket` on the test server (Distribution, and Berth, expect it to exist).
    static func makeBucket(_ configuration: S3Configuration) async throws {
        let client = S3Client(configuration: configuration, logger: Logger(label: "test"))
        _ = try await client.send(.PUT, key: "")
    }

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
        case .s3:
            guard let configuration = Self.s3Configuration(bucket: "berth-test-\(UUID().uuidString.prefix(13).lowercased())") else {
                if ProcessInfo.processInfo.environment["CI"] == "true" {
                    Issue.record("BERTH_TEST_S3 is not set: the S3 driver tests cannot run")
                }
                // One store for every `make`, as the real drivers give: a "restart" sees it.
                let driver = InMemoryDriver()
                return try await body { driver }
            }
            try await Self.makeBucket(configuration)
            let driver = try S3Driver(configuration: configuration)
            do {
                let result = try await body { try S3Driver(configuration: configuration) }
                try? await driver.delete(StoragePath.root)
                return result
            } catch {
                try? await driver.delete(StoragePath.root)
                throw error
            }
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

/// Filled through a raw buffer: tests run unoptimised, where a per-byte `map` of many MiB
/// keeps a cooperative thread busy for seconds and starves every other test's timers.
func randomBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        for index in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            buffer[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        initialized = count
    }
}
