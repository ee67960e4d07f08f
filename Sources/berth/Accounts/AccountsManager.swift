import Accounts
import Auth
import Foundation

/// What the account commands do, on the database itself (`AccountStore`) or through a
/// running Berth's admin API (`RemoteAccounts`), so each command is written once.
protocol AccountsManager: Sendable {
    func users() async throws -> [UserRecord]
    func user(_ name: String) async throws -> UserRecord?
    func addUser(_ name: String, passwordHash: String?, labels: [String: [String]], expiresAt: Date?, by actor: AuditActor) async throws
    func setPassword(_ name: String, passwordHash: String, by actor: AuditActor) async throws
    func setLabels(_ name: String, _ labels: [String: [String]], by actor: AuditActor) async throws
    func setDisabled(_ name: String, _ disabled: Bool, by actor: AuditActor) async throws
    func setExpiry(_ name: String, _ expiresAt: Date?, by actor: AuditActor) async throws
    func removeUser(_ name: String, by actor: AuditActor) async throws
    func unlock(_ account: String, by actor: AuditActor) async throws
    func rules() async throws -> [RuleRecord]
    func addRule(_ rule: ACLRule, at position: Int?, expiresAt: Date?, by actor: AuditActor) async throws -> RuleRecord
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
