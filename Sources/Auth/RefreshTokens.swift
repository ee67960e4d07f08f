import Crypto
import Foundation

/// What a refresh token stands for. Only a hash of the token itself is ever stored.
public struct RefreshTokenRecord: Sendable, Codable, Equatable {
    public var account: String
    public var issuedAt: Date
    public var clientID: String?
    /// The account's labels when the token was issued: used only when no backend can be
    /// asked about the account (see `IdentityBackend.answersLookups`).
    public var labels: [String: [String]]?

    public init(account: String, issuedAt: Date, clientID: String?, labels: [String: [String]]? = nil) {
        self.account = account
        self.issuedAt = issuedAt
        self.clientID = clientID
        self.labels = labels
    }
}

/// Where refresh tokens live, keyed by `RefreshTokens.id(of:)`, so they survive restarts
/// and are shared by replicas.
public protocol RefreshTokenStore: Sendable {
    func save(_ record: RefreshTokenRecord, id: String) async throws
    func load(id: String) async throws -> RefreshTokenRecord?
    func delete(id: String) async throws
}

public enum RefreshTokens {
    /// Refresh tokens older than this are refused (the user logs in again).
    public static let maxAge: TimeInterval = 90 * 86400

    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "brt_" + KeyID.b64(bytes)
    }

    /// The storage key of a token: its SHA-256, so a leaked store does not leak tokens.
    public static func id(of token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Keeps refresh tokens in memory; for tests and the in-memory storage driver.
public actor InMemoryRefreshTokenStore: RefreshTokenStore {
    private var records: [String: RefreshTokenRecord] = [:]
    public init() {}
    public func save(_ record: RefreshTokenRecord, id: String) { records[id] = record }
    public func load(id: String) -> RefreshTokenRecord? { records[id] }
    public func delete(id: String) { records.removeValue(forKey: id) }
}
