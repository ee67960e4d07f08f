import Auth
import Foundation

/// The whole store as one immutable value: token requests are decided from it, never with a
/// query, and it is replaced whole when the store's generation moves.
public struct AccountSnapshot: Sendable {
    public let generation: Int64
    public let users: [String: UserRecord]
    public let rules: [RuleRecord]
    public let robots: [String: RobotRecord]
    /// When an admin last unlocked each account (failed logins before that are forgotten).
    public let unlocks: [String: Date]
    /// Personal access tokens by the SHA-256 of their secret.
    let accessTokens: [String: AccessTokenRecord]
    /// Immutable tags and the other repository policies, in order.
    public let repositoryPolicies: [RepositoryPolicyRecord]
    let acl: ACL

    public init(generation: Int64, users: [UserRecord], rules: [RuleRecord], robots: [RobotRecord], unlocks: [String: Date] = [:],
                accessTokens: [AccessTokenRecord] = [], repositoryPolicies: [RepositoryPolicyRecord] = []) throws {
        self.generation = generation
        self.repositoryPolicies = repositoryPolicies
        self.accessTokens = Dictionary(accessTokens.map { ($0.secretHash, $0) }, uniquingKeysWith: { first, _ in first })
        self.unlocks = unlocks
        self.users = Dictionary(users.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.rules = rules
        self.robots = Dictionary(robots.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        acl = try ACL(rules.map(\.rule), source: "database")
    }

    /// An active rule naming the empty account (`--account ''`) lets anonymous clients ask
    /// for tokens, as docker_auth's `"": {}` user does.
    func allowsAnonymous(at now: Date) -> Bool {
        rules.contains { $0.rule.match.account == "" && $0.isActive(at: now) }
    }

    func decision(_ request: AccessRequest, at now: Date) -> AccessDecision? {
        acl.decision(request, includingRule: { rules[$0].isActive(at: now) })
    }

    /// The robot behind a `robot$NAME` account.
    func robot(account: String) -> RobotRecord? {
        guard account.hasPrefix(RobotRecord.accountPrefix) else { return nil }
        return robots[String(account.dropFirst(RobotRecord.accountPrefix.count))]
    }

    /// Why `account` cannot log in whatever the rules say, or nil when it can (or is not
    /// this database's: an account of a file, LDAP or an external program).
    public func refusal(of account: String, at now: Date = Date()) -> String? {
        if let robot = robot(account: account) {
            return robot.disabled ? "disabled" : robot.isActive(at: now) ? nil : "expired"
        }
        if account.hasPrefix(RobotRecord.accountPrefix) { return "unknown account" }
        guard let user = users[AccountName.canonical(account)] else { return nil }
        return user.disabled ? "disabled" : user.isActive(at: now) ? nil : "expired"
    }

    public func knows(_ account: String) -> Bool {
        robot(account: account) != nil || users[AccountName.canonical(account)] != nil
    }
}
