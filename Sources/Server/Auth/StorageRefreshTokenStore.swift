import Auth
import Foundation
import Storage

/// Records kept as files in the registry's storage, one per id: refresh tokens as earlier
/// Berth versions kept them (`berth/refresh-tokens/<sha256>`, read once at start and moved
/// into the accounts database by `AuthAssembly.moveStoredRefreshTokens`), and web sessions
/// under htpasswd auth, which has no database (`berth/web-sessions`).
public struct StorageRefreshTokenStore: RefreshTokenStore {
    let driver: any StorageDriver
    let directory: [String]

    public init(driver: any StorageDriver, directory: StoragePath = BerthLayout.legacyRefreshTokens) {
        self.driver = driver
        self.directory = directory.components
    }

    /// Every stored token's id and record (for `berth tokens list|revoke`).
    public func all() async throws -> [(id: String, record: RefreshTokenRecord)] {
        var out: [(id: String, record: RefreshTokenRecord)] = []
        for id in try await driver.listIfPresent(try StoragePath(directory)) {
            if let record = try? await load(id: id) { out.append((id, record)) }
        }
        return out
    }

    private func path(_ id: String) throws -> StoragePath {
        guard id.utf8.count == 64, id.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw AuthError.unauthorized("invalid refresh token")
        }
        return try StoragePath(directory + [id])
    }

    public func save(_ record: RefreshTokenRecord, id: String) async throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try await driver.putPrivateContent(try path(id), Array(try encoder.encode(record)))
    }

    public func load(id: String) async throws -> RefreshTokenRecord? {
        do {
            let bytes = try await driver.getContent(try path(id), maxSize: 4096)
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try? decoder.decode(RefreshTokenRecord.self, from: Data(bytes))
        } catch StorageError.notFound {
            return nil
        }
    }

    public func delete(id: String) async throws {
        do { try await driver.delete(try path(id)) } catch StorageError.notFound {}
    }

    /// Deletes records issued before `cutoff` (web sessions past their lifetime).
    public func purge(issuedBefore cutoff: Date) async throws {
        for (id, record) in try await all() where record.issuedAt < cutoff {
            try await delete(id: id)
        }
    }
}
