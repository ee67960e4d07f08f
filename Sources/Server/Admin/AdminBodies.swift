import Accounts
import Auth
import Foundation

/// JSON bodies of the admin API (see `openapi/admin.yaml`). Secrets and hashes never
/// appear in a response, except a robot's new secret, once.
enum AdminBody {
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
        /// Why the account gets nothing whatever the rules say: `unknown account`, `disabled`,
        /// `expired`; absent when it may log in.
        var accountStatus: String?
    }

    struct NewRobot: Decodable {
        var name: String
        var repositories: [String]
        var actions: [String]
        var description: String?
        var expires: Date?
    }

    struct NewAccessToken: Decodable {
        var name: String
        /// `PATTERN:ACTIONS` each; absent or empty: all of the account's rights.
        var scopes: [String]?
        var expires: Date?
    }

    struct NewPolicy: Decodable {
        var kind: String
        var spec: [String: String]
        var comment: String?
    }
}
