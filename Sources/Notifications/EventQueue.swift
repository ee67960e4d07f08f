import Foundation
import Storage

/// Batches of events waiting for delivery to one endpoint, kept in the storage
/// (`berth/notifications/<endpoint>/`) so a restart loses none. Files are named by the
/// time they were written, so listing them gives delivery order.
public struct EventQueue: Sendable {
    let driver: any StorageDriver
    public let directory: StoragePath

    public init(driver: any StorageDriver, endpoint: String) throws {
        self.driver = driver
        // Endpoint names are free text; the layout hex-encodes them into one safe component.
        directory = try BerthLayout.notifications(endpoint: endpoint)
    }

    public struct Batch: Sendable {
        public var name: String
        public var body: [UInt8]
    }

    public func append(_ events: [Event]) async throws {
        let body = try JSONEncoder.events.encode(Envelope(events: events))
        let stamp = UInt64(Date().timeIntervalSince1970 * 1e9)
        let name = String(format: "%020llu", stamp) + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16) + ".json"
        try await driver.putContent(try directory.appending(name), Array(body))
    }

    /// The oldest waiting batches, at most `limit`.
    public func pending(limit: Int = 64) async throws -> [String] {
        Array(try await driver.listIfPresent(directory).filter { $0.hasSuffix(".json") }.prefix(limit))
    }

    public func read(_ name: String) async throws -> Batch {
        Batch(name: name, body: try await driver.getContent(try directory.appending(name), maxSize: 64 << 20))
    }

    public func remove(_ name: String) async throws {
        do { try await driver.delete(try directory.appending(name)) } catch StorageError.notFound {}
        do { try await driver.delete(try directory.appending(name + Self.claimSuffix)) } catch StorageError.notFound {}
    }

    static let claimSuffix = ".claim"
    /// A claim its holder has not renewed for this long is taken to be a dead replica's.
    public static let claimLifetime: TimeInterval = 60

    /// Takes the right to deliver `name`: replicas sharing the queue each deliver a batch
    /// only after claiming it, so a batch goes out once unless its claimant dies (then
    /// another takes over after `claimLifetime`: at least once, not once per replica).
    public func claim(_ name: String) async throws -> Bool {
        let path = try directory.appending(name + Self.claimSuffix)
        let stamp = Array("\(Date().timeIntervalSince1970)\n".utf8)
        if try await driver.createContent(path, stamp, privately: false) { return true }
        guard let held = try? await driver.stat(path),
              Date().timeIntervalSince1970 - held.modifiedAt > Self.claimLifetime else { return false }
        try? await driver.delete(path)
        return try await driver.createContent(path, stamp, privately: false)
    }

    public func releaseClaim(_ name: String) async throws {
        do { try await driver.delete(try directory.appending(name + Self.claimSuffix)) } catch StorageError.notFound {}
    }

    /// Keeps a claim alive while its holder is still trying the endpoint.
    public func renewClaim(_ name: String) async throws {
        try await driver.putContent(try directory.appending(name + Self.claimSuffix), Array("\(Date().timeIntervalSince1970)\n".utf8))
    }

    /// Removes the oldest batches beyond `limit`; returns how many went.
    public func trim(toAtMost limit: Int) async throws -> Int {
        let names = try await driver.listIfPresent(directory).filter { $0.hasSuffix(".json") }
        guard names.count > limit else { return 0 }
        for name in names.prefix(names.count - limit) { try await remove(name) }
        return names.count - limit
    }

    public func count() async throws -> Int {
        try await driver.listIfPresent(directory).filter { $0.hasSuffix(".json") }.count
    }
}

extension JSONEncoder {
    static let events: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()
}
