import Accounts
import Auth
import Foundation

/// JSON bodies of the admin API (see `openapi/admin.yaml`). Secrets and hashes never
/// appear in a response, except a robot's new secret, once.
enum AdminBody {
    struct User: Codable, Sendable {
        var name: String
        var labels: [String: [String]]
        var disabled: Bool
        var expires: Date?
        var hasPassword: Bool
        var created: Date
        var updated: Date

        init(_ record: UserRecord) {
            name = record.name
            labels = record.labels
            disabled = record.disabled
            expires = record.expiresAt
            hasPassword = record.passwordHash != nil
            created = record.createdAt
            updated = record.updatedAt
        }
    }

    struct NewUser: Decodable {
        var name: String
        var password: String?
        var passwordHash: String?
        var labels: [String: [String]]?
        var expires: Date?
    }

    /// Only the fields present are changed; `"expires": null` removes the expiry.
    struct UserChange: Decodable {
        var password: String?
        var passwordHash: String?
        var labels: [String: [String]]?
        var disabled: Bool?
        var expires: Date?
        var clearExpiry = false

        enum CodingKeys: String, CodingKey { case password, passwordHash, labels, disabled, expires }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            password = try c.decodeIfPresent(String.self, forKey: .password)
            passwordHash = try c.decodeIfPresent(String.self, forKey: .passwordHash)
            labels = try c.decodeIfPresent([String: [String]].self, forKey: .labels)
            disabled = try c.decodeIfPresent(Bool.self, forKey: .disabled)
            if c.contains(.expires) {
                expires = try c.decodeIfPresent(Date.self, forKey: .expires)
                clearExpiry = expires == nil
            }
        }
    }

    struct Rule: Codable, Sendable {
        var position: Int
        var match: ACLRule.Match
        var actions: [String]?
        var comment: String?
        var expires: Date?

        init(_ record: RuleRecord) {
            position = record.position
            match = record.rule.match
            actions = record.rule.actions
            comment = record.rule.comment
            expires = record.expiresAt
        }
    }

    struct NewRule: Decodable {
        var match: ACLRule.Match
        var actions: [String]
        var comment: String?
        var position: Int?
        var expires: Date?
    }

    struct Move: Decodable {
        var to: Int
    }

    struct AccessTest: Decodable {
        var account: String
        var repository: String
        var actions: [String]
        var type: String?
        var service: String?
        var labels: [String: [String]]?
    }

    struct AccessTestResult: Encodable {
        var granted: [String]
        var decision: AccessDecision?
    }

    struct Robot: Codable, Sendable {
        var name: String
        var login: String
        var repositories: [String]
        var actions: [String]
        var description: String?
        var disabled: Bool
        var expires: Date?
        var created: Date
        var lastUsed: Date?

        init(_ record: RobotRecord) {
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
    }

    struct NewRobot: Decodable {
        var name: String
        var repositories: [String]
        var actions: [String]
        var description: String?
        var expires: Date?
    }

    /// The only response that carries a secret: shown once, never stored.
    struct RobotSecret: Encodable {
        var robot: Robot
        var secret: String
    }
}
