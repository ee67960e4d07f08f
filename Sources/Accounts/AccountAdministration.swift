import Auth
import Foundation

/// Account administration inside a running Berth: every change goes to the database and then
/// into this server's directory at once, so it applies to the very next request here (other
/// replicas pick it up at their next poll). The admin API and the web UI both change
/// accounts only through it; nothing else needs to remember to refresh.
public struct AccountAdministration: AccountsManager {
    public let directory: AccountDirectory
    var store: AccountStore { directory.store }

    public init(directory: AccountDirectory) { self.directory = directory }

    /// Runs a change, then installs the snapshot it produced.
    private func applying<T>(_ change: () async throws -> T) async throws -> T {
        let result = try await change()
        try await directory.refresh()
        return result
    }

    public func users() async throws -> [UserRecord] { try await store.users() }
    public func user(_ name: String) async throws -> UserRecord? { try await store.user(name) }

    public func addUser(_ name: String, passwordHash: String?, labels: [String: [String]], expiresAt: Date?, by actor: AuditActor) async throws {
        try await applying { try await store.addUser(name, passwordHash: passwordHash, labels: labels, expiresAt: expiresAt, by: actor) }
    }

    public func setPassword(_ name: String, passwordHash: String, by actor: AuditActor) async throws {
        try await applying { try await store.setPassword(name, passwordHash: passwordHash, by: actor) }
    }

    public func setLabels(_ name: String, _ labels: [String: [String]], by actor: AuditActor) async throws {
        try await applying { try await store.setLabels(name, labels, by: actor) }
    }

    public func setDisabled(_ name: String, _ disabled: Bool, by actor: AuditActor) async throws {
        try await applying { try await store.setDisabled(name, disabled, by: actor) }
    }

    public func setExpiry(_ name: String, _ expiresAt: Date?, by actor: AuditActor) async throws {
        try await applying { try await store.setExpiry(name, expiresAt, by: actor) }
    }

    public func updateUser(_ name: String, passwordHash: String?, labels: [String: [String]]?, disabled: Bool?, expiry: Date??,
                           by actor: AuditActor) async throws {
        try await applying {
            try await store.updateUser(name, passwordHash: passwordHash, labels: labels, disabled: disabled, expiry: expiry, by: actor)
        }
    }

    public func removeUser(_ name: String, by actor: AuditActor) async throws {
        try await applying { try await store.removeUser(name, by: actor) }
    }

    public func unlock(_ account: String, by actor: AuditActor) async throws {
        try await applying { try await store.unlock(account, by: actor) }
    }

    public func rules() async throws -> [RuleRecord] { try await store.rules() }

    public func addRule(_ rule: ACLRule, at position: Int?, expiresAt: Date?, by actor: AuditActor) async throws -> RuleRecord {
        try await applying { try await store.addRule(rule, at: position, expiresAt: expiresAt, by: actor) }
    }

    public func replaceRule(at position: Int, with rule: ACLRule, expiresAt: Date?, by actor: AuditActor) async throws {
        try await applying { try await store.replaceRule(at: position, with: rule, expiresAt: expiresAt, by: actor) }
    }

    public func removeRule(at position: Int, by actor: AuditActor) async throws {
        try await applying { try await store.removeRule(at: position, by: actor) }
    }

    public func moveRule(from: Int, to: Int, by actor: AuditActor) async throws {
        try await applying { try await store.moveRule(from: from, to: to, by: actor) }
    }

    public func robots() async throws -> [RobotRecord] { try await store.robots() }

    public func addRobot(_ name: String, repositories: [String], actions: [String], description: String?, expiresAt: Date?,
                         by actor: AuditActor) async throws -> (RobotRecord, secret: String) {
        try await applying {
            try await store.addRobot(name, repositories: repositories, actions: actions, description: description, expiresAt: expiresAt, by: actor)
        }
    }

    public func rotateRobot(_ name: String, by actor: AuditActor) async throws -> String {
        try await applying { try await store.rotateRobot(name, by: actor) }
    }

    public func removeRobot(_ name: String, by actor: AuditActor) async throws {
        try await applying { try await store.removeRobot(name, by: actor) }
    }

    /// A person a sign-in provider vouches for: their account, created on first sign-in when
    /// `create` allows, its labels of the provider's claims brought up to date (other labels
    /// an administrator set stay), the sign-in recorded in the audit log.
    public func federatedSignIn(_ person: FederatedIdentity, provider: String = "", refreshToken: String? = nil, create: Bool,
                                address: String?) async throws {
        let actor = AuditActor(person.account, address: address)
        if let user = try await store.user(person.account) {
            // Never another way into an account that is not this provider's: a GitHub login
            // or a provider's claim that happens to equal a local name (`admin`) must not
            // become that account. An administrator prepares one for a provider by creating
            // it without a password.
            let previous = try await store.federated(account: person.account)
            if let previous, !provider.isEmpty, previous.provider != provider {
                throw AccountError.conflict("the account \(person.account) signs in through another provider (\(previous.provider))")
            }
            if let bound = previous?.subject, bound != person.subject {
                throw AccountError.conflict("the account \(person.account) belongs to another person at \(provider) (a name that changed hands there); an administrator can remove the account")
            }
            if previous == nil, user.passwordHash != nil {
                throw AccountError.conflict("an account \(person.account) with a password exists here; it cannot be taken over by a sign-in provider")
            }
            if user.disabled {
                // Disabled because the provider refused them once, and it accepts them again:
                // the provider decides. Disabled by an administrator: stays so.
                guard try await store.federated(account: person.account)?.refusedAt != nil else { throw AuthError.inactive("account disabled") }
                try await applying { try await store.setDisabled(person.account, false, by: actor) }
            }
            if let expiry = user.expiresAt, expiry <= Date() { throw AuthError.inactive("account expired") }
            var labels = user.labels.filter { !person.labelKeys.contains($0.key) }
            labels.merge(person.labels) { _, new in new }
            if labels != user.labels { try await applying { try await store.setLabels(person.account, labels, by: actor) } }
        } else {
            guard create else {
                throw AccountError.notFound("there is no account \(person.account) on this registry; an administrator must create it first")
            }
            try await applying { try await store.addUser(person.account, passwordHash: nil, labels: person.labels, by: actor) }
        }
        try await store.recordFederatedSignIn(account: person.account, provider: provider, subject: person.subject, refreshToken: refreshToken)
        await directory.recordLogin(account: person.account, address: address, success: true, reason: person.provenance)
    }

    /// The provider still accepts a person: their labels of its claims brought up to date.
    public func federatedRevalidated(_ person: FederatedIdentity?, account: String, refreshToken: String?) async throws {
        try await store.federatedAccepted(account: account, refreshToken: refreshToken)
        guard let person, let user = try await store.user(account) else { return }
        var labels = user.labels.filter { !person.labelKeys.contains($0.key) }
        labels.merge(person.labels) { _, new in new }
        if labels != user.labels {
            try await applying { try await store.setLabels(account, labels, by: AuditActor("revalidation: \(person.provenance)")) }
        }
    }

    /// The provider no longer accepts a person: their account disabled (sessions, refresh
    /// tokens and access tokens refused) until they sign in there again.
    public func federatedRefused(account: String, reason: String, provenance: String) async throws {
        try await applying {
            try await store.federatedRefused(account: account, reason: reason, by: AuditActor("revalidation: \(provenance)"))
        }
    }

    public func repositoryPolicies() async throws -> [RepositoryPolicyRecord] { try await store.repositoryPolicies() }

    public func addRepositoryPolicy(kind: String, spec: [String: String], comment: String?, identity: [String] = [],
                                    by actor: AuditActor) async throws -> RepositoryPolicyRecord {
        try await applying { try await store.addRepositoryPolicy(kind: kind, spec: spec, comment: comment, identity: identity, by: actor) }
    }

    public func removeRepositoryPolicy(kind: String, _ which: String, by actor: AuditActor) async throws -> RepositoryPolicyRecord {
        try await applying { try await store.removeRepositoryPolicy(kind: kind, which, by: actor) }
    }

    public func accessTokens(account: String?) async throws -> [AccessTokenView] { try await store.accessTokens(account: account) }

    public func createAccessToken(account: String, name: String, scopes: [CredentialScope]?, expiresAt: Date?,
                                  labels: [String: [String]]?, by actor: AuditActor) async throws -> AccessTokenCreated {
        // The labels of an account the database holds are read at each use, not remembered.
        let held = directory.snapshot.users[AccountName.canonical(account)] != nil
        return try await applying {
            try await store.createAccessToken(account: account, name: name, scopes: scopes, expiresAt: expiresAt,
                                              labels: held ? nil : labels, by: actor)
        }
    }

    public func revokeAccessToken(account: String, token: String, by actor: AuditActor) async throws -> AccessTokenView {
        try await applying { try await store.revokeAccessToken(account: account, token: token, by: actor) }
    }

    public func audit(limit: Int, account: String?, action: String?, before: AuditCursor?) async throws -> [AuditEntry] {
        try await store.audit(limit: limit, account: account, action: action, before: before)
    }

    public func refreshTokens(account: String?) async throws -> [RefreshTokenView] { try await store.refreshTokens(account: account) }

    public func revokeRefreshTokens(account: String, idPrefix: String?, by actor: AuditActor) async throws -> Int {
        try await applying { try await store.revokeRefreshTokens(account: account, idPrefix: idPrefix, by: actor) }
    }

    /// The server owns the store; administration does not close it.
    public func close() async {}
}
