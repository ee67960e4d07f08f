import Auth
import Foundation

// What the admin API, `--json` listings and the remote CLI exchange: records without
// their secrets (no password or robot secret hash ever leaves the store this way).

public struct UserView: Codable, Sendable {
    public var name: String
    public var labels: [String: [String]]
    public var disabled: Bool
    public var expires: Date?
    public var hasPassword: Bool
    public var created: Date
    public var updated: Date
    public var lastLogin: Date?

    public init(_ record: UserRecord) {
        lastLogin = record.lastLoginAt
        name = record.name
        labels = record.labels
        disabled = record.disabled
        expires = record.expiresAt
        hasPassword = record.passwordHash != nil
        created = record.createdAt
        updated = record.updatedAt
    }

    /// As a record; a password that is set is shown as a placeholder, never a hash.
    public var record: UserRecord {
        UserRecord(name: name, passwordHash: hasPassword ? "(set)" : nil, labels: labels, disabled: disabled, expiresAt: expires,
                   createdAt: created, updatedAt: updated, lastLoginAt: lastLogin)
    }
}

public struct RuleView: Codable, Sendable {
    public var position: Int
    public var match: ACLRule.Match
    public var actions: [String]?
    public var comment: String?
    public var expires: Date?

    public init(_ record: RuleRecord) {
        position = record.position
        match = record.rule.match
        actions = record.rule.actions
        comment = record.rule.comment
        expires = record.expiresAt
    }

    public var record: RuleRecord {
        RuleRecord(id: "#\(position)", position: position, rule: ACLRule(match: match, actions: actions, comment: comment),
                   expiresAt: expires, createdAt: Date(timeIntervalSince1970: 0))
    }
}

public struct RobotView: Codable, Sendable {
    public var name: String
    public var login: String
    public var repositories: [String]
    public var actions: [String]
    public var description: String?
    public var disabled: Bool
    public var expires: Date?
    public var created: Date
    public var lastUsed: Date?

    public init(_ record: RobotRecord) {
        name = record.name
        login = record.account
        repositories = record.repositories
        actions = record.actions
        description = record.description
        disabled = record.disabled
        expires = record.expiresAt
        created = record.createdAt
        lastUsed = record.lastUsedAt
    }

    public var record: RobotRecord {
        RobotRecord(name: name, secretHash: "", repositories: repositories, actions: actions, description: description,
                    disabled: disabled, expiresAt: expires, createdAt: created, lastUsedAt: lastUsed)
    }
}

/// The only view that carries a secret: a robot just created or rotated, shown once.
public struct RobotCreated: Codable, Sendable {
    public var robot: RobotView
    public var secret: String

    public init(robot: RobotView, secret: String) {
        self.robot = robot
        self.secret = secret
    }
}

/// A refresh token as listings show it: its id is the SHA-256 of the token, never the token.
public struct RefreshTokenView: Codable, Sendable, Equatable {
    public var id: String
    public var account: String
    public var issued: Date
    public var client: String?

    public init(_ token: (id: String, record: RefreshTokenRecord)) {
        id = token.id
        account = token.record.account
        issued = token.record.issuedAt
        client = token.record.clientID
    }
}

/// A personal access token as lists show it: never its secret or hash.
public struct AccessTokenView: Codable, Sendable, Equatable {
    public var id: String
    public var account: String
    public var name: String
    /// nil: all of the account's rights.
    public var scopes: [String]?
    public var expires: Date?
    public var created: Date
    public var lastUsed: Date?

    public init(_ record: AccessTokenRecord) {
        id = record.id
        account = record.account
        name = record.name
        scopes = record.scopes?.map(\.description)
        expires = record.expiresAt
        created = record.createdAt
        lastUsed = record.lastUsedAt
    }

    public var expired: Bool { expires.map { $0 <= Date() } ?? false }
}

/// A token just created: the only time its secret is shown.
public struct AccessTokenCreated: Codable, Sendable {
    public var token: AccessTokenView
    public var secret: String

    public init(token: AccessTokenView, secret: String) {
        self.token = token
        self.secret = secret
    }
}
