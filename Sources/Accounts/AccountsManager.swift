import Auth
import Foundation

/// What administering accounts means, whoever does it: the CLI on the database itself
/// (`AccountStore`) or through a running Berth (its `RemoteAccounts`), and a running Berth's
/// admin API and web UI (`AccountAdministration`), so each operation is written once.
public protocol AccountsManager: Sendable {
    func users() async throws -> [UserRecord]
    func user(_ name: String) async throws -> UserRecord?
    func addUser(_ name: String, passwordHash: String?, labels: [String: [String]], expiresAt: Date?, by actor: AuditActor) async throws
    func setPassword(_ name: String, passwordHash: String, by actor: AuditActor) async throws
    func setLabels(_ name: String, _ labels: [String: [String]], by actor: AuditActor) async throws
    func setDisabled(_ name: String, _ disabled: Bool, by actor: AuditActor) async throws
    func setExpiry(_ name: String, _ expiresAt: Date?, by actor: AuditActor) async throws
    /// Several changes to one account in one step; `expiry` nil leaves it, `.some(nil)` removes it.
    func updateUser(_ name: String, passwordHash: String?, labels: [String: [String]]?, disabled: Bool?, expiry: Date??,
                    by actor: AuditActor) async throws
    func removeUser(_ name: String, by actor: AuditActor) async throws
    func unlock(_ account: String, by actor: AuditActor) async throws
    func rules() async throws -> [RuleRecord]
    func addRule(_ rule: ACLRule, at position: Int?, expiresAt: Date?, by actor: AuditActor) async throws -> RuleRecord
    func replaceRule(at position: Int, with rule: ACLRule, expiresAt: Date?, by actor: AuditActor) async throws
    func removeRule(at position: Int, by actor: AuditActor) async throws
    func moveRule(from: Int, to: Int, by actor: AuditActor) async throws
    func robots() async throws -> [RobotRecord]
    func addRobot(_ name: String, repositories: [String], actions: [String], description: String?, expiresAt: Date?,
                  by actor: AuditActor) async throws -> (RobotRecord, secret: String)
    func rotateRobot(_ name: String, by actor: AuditActor) async throws -> String
    func removeRobot(_ name: String, by actor: AuditActor) async throws
    func audit(limit: Int, account: String?, action: String?, before: AuditCursor?) async throws -> [AuditEntry]
    func refreshTokens(account: String?) async throws -> [RefreshTokenView]
    func revokeRefreshTokens(account: String, idPrefix: String?, by actor: AuditActor) async throws -> Int
    func accessTokens(account: String?) async throws -> [AccessTokenView]
    /// `labels`: those of an account this database does not hold (LDAP, a file), to remember.
    func createAccessToken(account: String, name: String, scopes: [CredentialScope]?, expiresAt: Date?,
                           labels: [String: [String]]?, by actor: AuditActor) async throws -> AccessTokenCreated
    func revokeAccessToken(account: String, token: String, by actor: AuditActor) async throws -> AccessTokenView
    func repositoryPolicies() async throws -> [RepositoryPolicyRecord]
    /// `spec` already checked by the kind's own rules (the `Policies` module).
    func addRepositoryPolicy(kind: String, spec: [String: String], comment: String?, identity: [String], by actor: AuditActor) async throws -> RepositoryPolicyRecord
    func removeRepositoryPolicy(kind: String, _ which: String, by actor: AuditActor) async throws -> RepositoryPolicyRecord
    func close() async
}

extension AccountStore: AccountsManager {
    public func accessTokens(account: String?) async throws -> [AccessTokenView] {
        try await accessTokenRecords(account: account).map(AccessTokenView.init)
    }

    public func createAccessToken(account: String, name: String, scopes: [CredentialScope]?, expiresAt: Date?,
                                  labels: [String: [String]]?, by actor: AuditActor) async throws -> AccessTokenCreated {
        let (record, secret) = try await addAccessToken(account: account, name: name, scopes: scopes, expiresAt: expiresAt,
                                                        labels: labels, by: actor)
        return AccessTokenCreated(token: AccessTokenView(record), secret: secret)
    }

    public func revokeAccessToken(account: String, token: String, by actor: AuditActor) async throws -> AccessTokenView {
        AccessTokenView(try await removeAccessToken(account: account, token: token, by: actor))
    }
}

extension AccountsManager {
    /// Every refresh token and web session of the account ("sign out everywhere").
    public func revokeRefreshTokens(account: String, by actor: AuditActor) async throws -> Int {
        try await revokeRefreshTokens(account: account, idPrefix: nil, by: actor)
    }
}
