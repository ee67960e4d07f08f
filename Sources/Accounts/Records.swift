import Auth
import Foundation

public struct UserRecord: Sendable, Equatable, Codable {
    public var name: String
    /// bcrypt (`$2y$`); nil for an account that cannot log in with a password.
    public var passwordHash: String?
    public var labels: [String: [String]]
    public var disabled: Bool
    public var expiresAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    /// Moved by a password change, disable/enable and "sign out everywhere": refresh tokens
    /// and web sessions issued before it are refused.
    public var validSince: Date?
    /// The latest successful login (docker, the web UI, a refresh token), to the minute.
    public var lastLoginAt: Date?

    public func isActive(at now: Date = Date()) -> Bool {
        !disabled && (expiresAt.map { $0 > now } ?? true)
    }

    /// Credentials issued before this belong to an earlier password, or an earlier account
    /// of the same name.
    public var credentialsValidSince: Date { max(createdAt, validSince ?? createdAt) }

    public init(name: String, passwordHash: String?, labels: [String: [String]], disabled: Bool, expiresAt: Date?,
                createdAt: Date, updatedAt: Date, validSince: Date? = nil, lastLoginAt: Date? = nil) {
        self.lastLoginAt = lastLoginAt
        self.name = name
        self.passwordHash = passwordHash
        self.labels = labels
        self.disabled = disabled
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.validSince = validSince
    }
}

public struct RuleRecord: Sendable, Equatable, Codable {
    public var id: String
    /// From 1, in evaluation order.
    public var position: Int
    public var rule: ACLRule
    public var expiresAt: Date?
    public var createdAt: Date

    public func isActive(at now: Date = Date()) -> Bool { expiresAt.map { $0 > now } ?? true }

    public init(id: String, position: Int, rule: ACLRule, expiresAt: Date?, createdAt: Date) {
        self.id = id
        self.position = position
        self.rule = rule
        self.expiresAt = expiresAt
        self.createdAt = createdAt
    }
}

/// A robot account for CI: logs in as `robot$NAME` with a generated secret, and may do only
/// `actions` on repositories matching `repositories`, whatever the ACL says.
public struct RobotRecord: Sendable, Equatable, Codable {
    public static let accountPrefix = "robot$"
    public var name: String
    /// SHA-256 of the secret (the secret is random and long, so a slow hash adds nothing).
    public var secretHash: String
    public var repositories: [String]
    public var actions: [String]
    public var description: String?
    public var disabled: Bool
    public var expiresAt: Date?
    public var createdAt: Date
    public var lastUsedAt: Date?
    /// Moved by a rotation and "revoke all": refresh tokens issued before it are refused.
    public var validSince: Date?

    public var account: String { Self.accountPrefix + name }

    public var credentialsValidSince: Date { max(createdAt, validSince ?? createdAt) }

    public init(name: String, secretHash: String, repositories: [String], actions: [String], description: String?,
                disabled: Bool, expiresAt: Date?, createdAt: Date, lastUsedAt: Date?, validSince: Date? = nil) {
        self.validSince = validSince
        self.name = name
        self.secretHash = secretHash
        self.repositories = repositories
        self.actions = actions
        self.description = description
        self.disabled = disabled
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }

    public func isActive(at now: Date = Date()) -> Bool {
        !disabled && (expiresAt.map { $0 > now } ?? true)
    }
}

public struct AuditEntry: Sendable, Equatable, Codable {
    public var id: String
    public var at: Date
    /// Who did it (the account, `cli:<user>` for local commands).
    public var actor: String
    /// `user.add`, `acl.move`, `login`, `robot.rotate`…
    public var action: String
    public var target: String
    public var address: String?
    public var success: Bool
    public var detail: String?
    /// How many identical refused logins this row stands for (same account, address, reason
    /// and minute); nil: one.
    public var count: Int?

    public init(actor: String, action: String, target: String, address: String? = nil, success: Bool = true,
                detail: String? = nil, at: Date = Date(), count: Int? = nil) {
        self.count = count
        self.id = UUID().uuidString.lowercased()
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.address = address
        self.success = success
        self.detail = detail
    }
}

/// Who is changing the accounts, for the audit log.
public struct AuditActor: Sendable {
    public var name: String
    public var address: String?

    public init(_ name: String, address: String? = nil) {
        self.name = name
        self.address = address
    }
}
