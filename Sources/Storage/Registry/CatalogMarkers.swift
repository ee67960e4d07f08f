import Foundation
import OCI

/// The catalog on storages whose tree walks cost a request per directory (S3): one empty
/// object per repository, `berth/catalog/<name>/_repository`, read back with one flat
/// listing (1,000 repositories a request) instead of walking every repository's tree.
/// Every replica writes the marker of a repository it creates, so all see it; nothing is
/// ever rewritten, so replicas never conflict.
struct CatalogMarkers: Sendable {
    let driver: any StorageDriver
    static let directory = BerthLayout.catalogMarkers
    /// Written once every repository found by a full walk has its marker.
    static let complete = BerthLayout.catalogComplete
    static let marker = "_repository"
    /// Repositories another program (Distribution sharing the bucket) creates have no
    /// marker: a full walk this often finds them.
    static let fullWalkInterval: TimeInterval = 3600

    /// The recorded names, or nil when no full walk has recorded them yet (or it is due).
    func names() async throws -> [String]? {
        guard let built = try? await driver.stat(Self.complete),
              Date().timeIntervalSince1970 - built.modifiedAt < Self.fullWalkInterval else { return nil }
        let suffix = "/" + Self.marker
        return try await driver.listFiles(under: Self.directory).compactMap { file in
            file.hasSuffix(suffix) ? String(file.dropLast(suffix.count)) : nil
        }
    }

    func record(_ name: String) async throws {
        try await driver.putContent(try path(name), [])
    }

    /// A deleted repository's marker goes with it.
    func forget(_ name: String) async throws {
        do { try await driver.delete(try path(name)) } catch StorageError.notFound {}
    }

    /// After a full walk: marks every repository found, then the catalog as complete.
    func recordAll(_ names: [String], known: Set<String>) async throws {
        let missing = names.filter { !known.contains($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = missing.makeIterator()
            for _ in 0..<16 { if let name = pending.next() { group.addTask { try await record(name) } } }
            while try await group.next() != nil {
                if let name = pending.next() { group.addTask { try await record(name) } }
            }
        }
        try await driver.putContent(Self.complete, Array(ISO8601DateFormatter().string(from: Date()).utf8))
    }

    private func path(_ name: String) throws -> StoragePath {
        try StoragePath(Self.directory.components + name.split(separator: "/").map(String.init) + [Self.marker])
    }
}
