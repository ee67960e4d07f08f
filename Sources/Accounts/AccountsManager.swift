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
    func close() async
}

extension AccountStore: AccountsManager {}

extension AccountsManager {
    /// Every refresh token and web session of the account ("sign out everywhere").
    public func revokeRefreshTokens(account: String, by actor: AuditActor) async throws -> Int {
        try await revokeRefreshTokens(account: account, idPrefix: nil, by: actor)
    }
}
