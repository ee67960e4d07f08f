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
    /// The account's valid-since when the token was issued (`Identity.validSince`): once the
    /// account's moves past it (a new password, a rotated secret), the token is refused.
    public var validSince: Date?

    public init(account: String, issuedAt: Date, clientID: String?, labels: [String: [String]]? = nil, validSince: Date? = nil) {
        self.account = account
        self.validSince = validSince
        self.issuedAt = issuedAt
        self.clientID = clientID
        self.labels = labels
    }
}

/// Where refresh tokens live, keyed by `RefreshTokens.id(of:)`, so they survive restarts
/// and are shared by replicas.
/// Web sessions live here too (client `berth-web-ui`, keyed by their session id's hash), so
/// that signing out, a password change and "sign out everywhere" end them on every replica.
public protocol RefreshTokenStore: Sendable {
    func save(_ record: RefreshTokenRecord, id: String) async throws
    func load(id: String) async throws -> RefreshTokenRecord?
    func delete(id: String) async throws
}

public enum RefreshTokens {
    /// Refresh tokens older than this are refused (the user logs in again).
    public static let maxAge: TimeInterval = 90 * 86400
    /// Web UI sessions are kept beside refresh tokens under this client id, for this long.
    public static let webSessionClientID = "berth-web-ui"
    public static let webSessionLifetime: Int64 = 12 * 3600

    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "brt_" + KeyID.b64(bytes)
    }

    /// The storage key of a token: its SHA-256, so a leaked store does not leak tokens.
    public static func id(of token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether a credential issued under `issuedUnder` (the account's valid-since then) or, for
    /// records from before valid-since was kept, at `issuedAt`, is still good for an account
    /// whose valid-since is now `current`.
    public static func stillValid(issuedUnder: Date?, issuedAt: Date, current: Date?) -> Bool {
        guard let current else { return true }
        if let issuedUnder { return milliseconds(current) <= milliseconds(issuedUnder) }
        // Older records kept whole seconds.
        return issuedAt.addingTimeInterval(1) >= current
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}

/// Keeps refresh tokens in memory; for tests and the in-memory storage driver.
public actor InMemoryRefreshTokenStore: RefreshTokenStore {
    private var records: [String: RefreshTokenRecord] = [:]
    public init() {}
    public func save(_ record: RefreshTokenRecord, id: String) { records[id] = record }
    public func load(id: String) -> RefreshTokenRecord? { records[id] }
    public func delete(id: String) { records.removeValue(forKey: id) }
}
