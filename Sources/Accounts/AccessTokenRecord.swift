import Auth
import Foundation

/// A personal access token: a generated secret an account uses as its password (for
/// `docker login`, scripts, or a person who signs in through a provider and has no password),
/// limited by `scopes` when it has any, until it expires or is revoked.
public struct AccessTokenRecord: Sendable, Equatable, Codable {
    /// Public and short, for listing and revoking; never enough to use the token.
    public var id: String
    public var account: String
    public var name: String
    /// SHA-256 of the secret (random and long: a slow hash would add nothing).
    public var secretHash: String
    /// nil: the account's full rights.
    public var scopes: [CredentialScope]?
    /// The labels of an account this database does not hold, as they were at creation.
    public var labels: [String: [String]]?
    public var expiresAt: Date?
    public var createdAt: Date
    public var lastUsedAt: Date?

    public init(id: String, account: String, name: String, secretHash: String, scopes: [CredentialScope]?,
                labels: [String: [String]]?, expiresAt: Date?, createdAt: Date, lastUsedAt: Date?) {
        self.id = id
        self.account = account
        self.name = name
        self.secretHash = secretHash
        self.scopes = scopes
        self.labels = labels
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }

    public func isActive(at now: Date = Date()) -> Bool { expiresAt.map { $0 > now } ?? true }

    /// Scopes as given (`team/*:pull,push`); an empty list means none: all of the account's rights.
    public static func scopes(parsing texts: [String]) throws(AccountError) -> [CredentialScope]? {
        guard !texts.isEmpty else { return nil }
        var scopes: [CredentialScope] = []
        for text in texts {
            do { scopes.append(try CredentialScope(parsing: text)) } catch { throw .invalid(error.description) }
        }
        return scopes
    }

    /// What the audit log and the login record say proved the login.
    public var provenance: String { "access token \(name)" }
}

/// Access token secrets: `berth_pat_` and 40 random base62 characters; the prefix lets the
/// backend recognise one without a database lookup, and secret scanners recognise a leak.
public enum AccessTokenSecret {
    public static let prefix = "berth_pat_"

    static func generate() -> String { prefix + RobotSecret.randomCharacters(40) }

    static func id() -> String { RobotSecret.randomCharacters(12).lowercased() }
}
