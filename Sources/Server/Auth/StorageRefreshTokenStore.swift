import Auth
import Foundation
import Storage

/// Refresh tokens as earlier Berth versions kept them, in the registry's storage
/// (`berth/refresh-tokens/<sha256>`): read once at start and moved into the accounts
/// database (`AuthSetup.moveStoredRefreshTokens`).
public struct StorageRefreshTokenStore: RefreshTokenStore {
    let driver: any StorageDriver
    static let directory = BerthLayout.legacyRefreshTokens.components

    public init(driver: any StorageDriver) { self.driver = driver }

    /// Every stored token's id and record (for `berth tokens list|revoke`).
    public func all() async throws -> [(id: String, record: RefreshTokenRecord)] {
        var out: [(id: String, record: RefreshTokenRecord)] = []
        for id in try await driver.listIfPresent(try StoragePath(Self.directory)) {
            if let record = try? await load(id: id) { out.append((id, record)) }
        }
        return out
    }

    private func path(_ id: String) throws -> StoragePath {
        guard id.utf8.count == 64, id.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw AuthError.unauthorized("invalid refresh token")
        }
        return try StoragePath(Self.directory + [id])
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
}
