@testable import Accounts
import Auth
import Foundation
import Testing

/// Personal access tokens, on every engine: used as the account's password, limited by their
/// scopes whatever the account may do, refused once expired, revoked, or their account
/// disabled or removed, and never turned into a longer-lived credential.
@Suite struct AccessTokenSuite {
    static let hash = PasswordHash.make("correct horse", cost: 4)

    func service(_ directory: AccountDirectory) async throws -> TokenService {
        TokenService(issuer: try await TokenIssuer(issuer: "t", expiration: 60, signingKey: try SigningKey.generate()),
                     backends: [directory.accessTokens, directory], policies: directory.policies)
    }

    func login(_ service: TokenService, _ user: String, _ password: String) async throws -> Identity {
        try await service.authenticate(TokenRequest(service: "s", scopes: [], account: nil, credentials: (user, password), clientIP: nil))
    }

    func granted(_ service: TokenService, _ identity: Identity, _ name: String, _ actions: [String], type: String = "repository") async throws -> [String] {
        try await service.policy.grantedActions(AccessRequest(identity: identity, type: type, name: name, service: "s", actions: actions))
    }

    @Test(arguments: AccountEngine.allCases)
    func aTokenIsAPasswordWithinItsScopes(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addUser("alice", passwordHash: Self.hash, labels: ["team": ["web"]], by: cli)
            try await store.addRule(ACLRule(match: .init(account: "alice"), actions: ["*"], comment: "alice is an admin"), by: cli)
            // Not the last administrator: alice is disabled below.
            try await store.addUser("root", passwordHash: nil, by: cli)
            try await store.addRule(ACLRule(match: .init(account: "root"), actions: ["*"]), by: cli)
            let limited = try await store.createAccessToken(account: "alice", name: "laptop", scopes: [try CredentialScope(parsing: "web/*:pull")],
                                                            expiresAt: nil, labels: nil, by: cli)
            let full = try await store.createAccessToken(account: "alice", name: "ci", scopes: nil, expiresAt: nil, labels: nil, by: cli)
            #expect(limited.secret.hasPrefix("berth_pat_") && limited.secret.count == 50 && limited.token.account == "alice")
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            let service = try await service(directory)

            let identity = try await login(service, "alice", limited.secret)
            #expect(identity.account == "alice" && identity.labels == ["team": ["web"]] && identity.provenance == "access token laptop")
            #expect(try await granted(service, identity, "web/app", ["pull", "push"]) == ["pull"])
            #expect(try await granted(service, identity, "other/app", ["pull"]).isEmpty)
            #expect(try await granted(service, identity, "admin", ["*"], type: "registry").isEmpty)
            #expect(try await granted(service, identity, "catalog", ["*"], type: "registry").isEmpty)
            // Within its scopes, the account's own rules still decide.
            let fullIdentity = try await login(service, "alice", full.secret)
            #expect(fullIdentity.scopes == nil)
            #expect(try await granted(service, fullIdentity, "admin", ["*"], type: "registry") == ["*"])

            // Another account's name, a changed secret, a password that only looks like a token.
            await #expect(throws: AuthError.self) { try await login(service, "bob", limited.secret) }
            await #expect(throws: AuthError.self) { try await login(service, "alice", limited.secret + "x") }
            await #expect(throws: AuthError.self) { try await login(service, "alice", "berth_pat_" + String(repeating: "a", count: 40)) }
            // The password still works, with the account's full rights.
            #expect(try await login(service, "alice", "correct horse").provenance == nil)

            // No refresh token: revoking must end it at once.
            let response = try await service.issueToken(TokenRequest(service: "s", scopes: ["repository:web/app:pull"], account: nil,
                                                                     credentials: ("alice", limited.secret), clientIP: nil, wantsRefreshToken: true))
            #expect(response.refresh_token == nil && !response.token.isEmpty)

            // Last use is recorded with the audit batch.
            await directory.flushAudit()
            #expect(try await store.accessTokens(account: "alice").first { $0.name == "laptop" }?.lastUsed != nil)

            // Disabled account: refused; enabled again: works; revoked: refused.
            try await store.setDisabled("alice", true, by: cli)
            try await directory.refresh()
            await #expect(throws: AuthError.inactive("account disabled")) { try await login(service, "alice", limited.secret) }
            try await store.setDisabled("alice", false, by: cli)
            try await directory.refresh()
            _ = try await login(service, "alice", limited.secret)
            _ = try await store.revokeAccessToken(account: "alice", token: "laptop", by: cli)
            try await directory.refresh()
            await #expect(throws: AuthError.self) { try await login(service, "alice", limited.secret) }
            _ = try await store.revokeAccessToken(account: "alice", token: full.token.id, by: cli)
            await #expect(throws: AccountError.self) { try await store.revokeAccessToken(account: "alice", token: full.token.id, by: cli) }
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func tokensExpireGoWithTheirAccountAndAreValidated(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addUser("bob", passwordHash: Self.hash, by: cli)
            let (record, secret) = try await store.addAccessToken(account: "bob", name: "soon", scopes: nil,
                                                                  expiresAt: Date(timeIntervalSinceNow: 3600), labels: nil, by: cli)
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            let service = try await service(directory)
            _ = try await login(service, "bob", secret)
            let expiry = try #require(record.expiresAt)
            #expect(record.isActive(at: expiry.addingTimeInterval(-1)) && !record.isActive(at: expiry.addingTimeInterval(1)))

            await #expect(throws: AccountError.self) { try await store.createAccessToken(account: "bob", name: "soon", scopes: nil, expiresAt: nil, labels: nil, by: cli) }
            await #expect(throws: AccountError.self) { try await store.createAccessToken(account: "bob", name: "", scopes: nil, expiresAt: nil, labels: nil, by: cli) }
            await #expect(throws: AccountError.self) { try await store.createAccessToken(account: "bob", name: "x<y", scopes: nil, expiresAt: nil, labels: nil, by: cli) }
            await #expect(throws: AccountError.self) { try await store.createAccessToken(account: "robot$ci", name: "x", scopes: nil, expiresAt: nil, labels: nil, by: cli) }
            await #expect(throws: AccountError.self) { try await store.createAccessToken(account: "", name: "x", scopes: nil, expiresAt: nil, labels: nil, by: cli) }
            await #expect(throws: AccountError.self) {
                try await store.createAccessToken(account: "bob", name: "past", scopes: nil, expiresAt: Date(timeIntervalSinceNow: -60), labels: nil, by: cli)
            }
            #expect(throws: AccountError.self) { try AccessTokenRecord.scopes(parsing: ["team/*"]) }
            #expect(throws: AccountError.self) { try AccessTokenRecord.scopes(parsing: ["team/*:fly"]) }
            #expect(throws: AccountError.self) { try AccessTokenRecord.scopes(parsing: ["[:pull"]) }
            #expect(try AccessTokenRecord.scopes(parsing: []) == nil)
            #expect(try AccessTokenRecord.scopes(parsing: ["a/*:push,pull"])?.map(\.description) == ["a/*:pull,push"])

            // Removing the account removes its tokens.
            try await store.removeUser("bob", by: cli)
            try await directory.refresh()
            #expect(try await store.accessTokens(account: "bob").isEmpty)
            await #expect(throws: AuthError.self) { try await login(service, "bob", secret) }
        }
    }

    /// A backend that cannot be asked about an account without its password (an external
    /// program, LDAP bound as the user).
    struct CannotBeAsked: IdentityBackend {
        func authenticate(user: String, password: String) async throws -> Identity? { nil }
        func lookup(user: String) async throws -> Identity? { nil }
        func allowsAnonymous() async throws -> Bool { false }
        var answersLookups: Bool { false }
    }

    /// An account the database does not hold, where the backend holding it cannot be asked,
    /// keeps the labels it had when the token was made.
    @Test(arguments: AccountEngine.allCases)
    func accountsHeldElsewhereKeepTheirLabels(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addRule(ACLRule(match: .init(name: "${labels:team}/*"), actions: ["pull", "push"]), by: cli)
            let created = try await store.createAccessToken(account: "ldap-carol", name: "laptop", scopes: nil, expiresAt: nil,
                                                            labels: ["team": ["ops"]], by: cli)
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            let service = TokenService(issuer: try await TokenIssuer(issuer: "t", expiration: 60, signingKey: try SigningKey.generate()),
                                       backends: [directory.accessTokens, directory, CannotBeAsked()], policies: directory.policies)
            let identity = try await login(service, "ldap-carol", created.secret)
            #expect(try await granted(service, identity, "ops/tool", ["pull", "push"]) == ["pull", "push"])
            #expect(try await granted(service, identity, "web/app", ["pull"]).isEmpty)
        }
    }

    @Test func scopesAllowOnlyWhatTheyName() throws {
        let scopes = [try CredentialScope(parsing: "team/*:pull,push"), try CredentialScope(parsing: "/^ops\\/.+$/:*")]
        #expect(CredentialScope.allowed(["pull", "push", "delete"], type: "repository", name: "team/app", within: scopes) == ["pull", "push"])
        #expect(CredentialScope.allowed(["pull"], type: "repository", name: "team/a/b", within: scopes).isEmpty)
        #expect(CredentialScope.allowed(["*"], type: "repository", name: "ops/x", within: scopes) == ["*"])
        #expect(CredentialScope.allowed(["*"], type: "repository", name: "team/x", within: scopes).isEmpty)
        #expect(CredentialScope.allowed(["*"], type: "registry", name: "admin", within: scopes).isEmpty)
    }
}

/// A person a sign-in provider vouches for: an account made on first sign-in (or refused when
/// only administrators create accounts), the provider's labels brought up to date without
/// touching those an administrator set, a disabled account refused.
@Suite struct FederatedSignInSuite {
    @Test(arguments: AccountEngine.allCases)
    func providersPeopleGetAccountsAndTheirLabels(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            let accounts = AccountAdministration(directory: directory)
            let alice = FederatedIdentity(account: "alice@example.test", labels: ["groups": ["team-a"]], labelKeys: ["groups"], provenance: "oidc x")
            await #expect(throws: AccountError.self) { try await accounts.federatedSignIn(alice, create: false, address: nil) }
            #expect(try await store.user("alice@example.test") == nil)
            try await accounts.federatedSignIn(alice, create: true, address: "127.0.0.1")
            let created = try #require(try await store.user("alice@example.test"))
            #expect(created.labels == ["groups": ["team-a"]] && created.passwordHash == nil)
            #expect(directory.snapshot.users["alice@example.test"] != nil)

            try await store.setLabels("alice@example.test", ["groups": ["team-a"], "tier": ["gold"]], by: cli)
            var moved = alice
            moved.labels = ["groups": ["team-b"]]
            try await accounts.federatedSignIn(moved, create: false, address: nil)
            #expect(try await store.user("alice@example.test")?.labels == ["groups": ["team-b"], "tier": ["gold"]])
            moved.labels = [:]
            try await accounts.federatedSignIn(moved, create: false, address: nil)
            #expect(try await store.user("alice@example.test")?.labels == ["tier": ["gold"]])

            try await store.setDisabled("alice@example.test", true, by: cli)
            await #expect(throws: AuthError.inactive("account disabled")) { try await accounts.federatedSignIn(alice, create: true, address: nil) }

            // A provider's name equal to a local account with a password: never taken over;
            // one an administrator made without a password for it: used; another provider's: refused.
            try await store.addUser("admin", passwordHash: PasswordHash.make("x-password-1", cost: 4), by: cli)
            let admin = FederatedIdentity(account: "admin", labels: [:], labelKeys: [], provenance: "github")
            await #expect(throws: AccountError.self) { try await accounts.federatedSignIn(admin, provider: "github", create: true, address: nil) }
            try await store.addUser("octo", passwordHash: nil, by: cli)
            let octo = FederatedIdentity(account: "octo", labels: ["teams": ["platform"]], labelKeys: ["teams"], provenance: "github")
            try await accounts.federatedSignIn(octo, provider: "github", create: false, address: nil)
            await #expect(throws: AccountError.self) { try await accounts.federatedSignIn(octo, provider: "oidc", create: true, address: nil) }

            // Bound to the provider's id at first sign-in: the same name for another person there is refused.
            let carol = FederatedIdentity(account: "carol", labels: [:], labelKeys: [], provenance: "github", subject: "101")
            try await accounts.federatedSignIn(carol, provider: "github", create: true, address: nil)
            var impostor = carol
            impostor.subject = "202"
            await #expect(throws: AccountError.self) { try await accounts.federatedSignIn(impostor, provider: "github", create: true, address: nil) }
            try await accounts.federatedSignIn(carol, provider: "github", create: true, address: nil)
            // Removed and created again: no longer bound.
            try await store.removeUser("carol", by: cli)
            #expect(try await store.federated(account: "carol") == nil)
        }
    }

    /// Refused at revalidation: disabled (her access tokens with it) until the provider signs
    /// her in again; an administrator's disable is not lifted that way.
    @Test(arguments: AccountEngine.allCases)
    func theProviderDecidesWhileItRefuses(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            let accounts = AccountAdministration(directory: directory)
            let alice = FederatedIdentity(account: "alice@example.test", labels: [:], labelKeys: [], provenance: "oidc x")
            try await accounts.federatedSignIn(alice, provider: "oidc", refreshToken: "sealed-1", create: true, address: nil)
            let token = try await accounts.createAccessToken(account: alice.account, name: "laptop", scopes: nil, expiresAt: nil, labels: nil, by: cli)
            let record = try #require(try await store.federated(account: alice.account))
            #expect(record.refreshToken == "sealed-1" && record.refusedAt == nil)
            #expect(try await store.federatedDue(before: Date().addingTimeInterval(1)).map(\.account) == [alice.account])
            #expect(try await store.claimFederated(record, replica: "a", at: Date().addingTimeInterval(0.5)))
            #expect(try await !store.claimFederated(record, replica: "b"), "a second replica must not use the same refresh token")

            try await accounts.federatedRefused(account: alice.account, reason: "invalid_grant", provenance: "oidc x")
            #expect(try await store.user(alice.account)?.disabled == true)
            #expect(try await store.federatedDue(before: Date().addingTimeInterval(60)).isEmpty)
            await #expect(throws: AuthError.inactive("account disabled")) { try await directory.accessTokens.authenticate(user: alice.account, password: token.secret) }

            try await accounts.federatedSignIn(alice, provider: "oidc", refreshToken: "sealed-2", create: false, address: nil)
            #expect(try await store.user(alice.account)?.disabled == false)
            #expect(try await store.federated(account: alice.account)?.refusedAt == nil)

            try await store.setDisabled(alice.account, true, by: cli)
            await #expect(throws: AuthError.inactive("account disabled")) {
                try await accounts.federatedSignIn(alice, provider: "oidc", refreshToken: nil, create: true, address: nil)
            }
        }
    }
}

extension AccessTokenSuite {
    @Test(arguments: AccountEngine.allCases)
    func aFileAccountsTokenFollowsTheFile(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            let accounts = AccountAdministration(directory: directory)
            let token = try await accounts.createAccessToken(account: "carol", name: "ci", scopes: nil, expiresAt: nil,
                                                             labels: ["team": ["old"]], by: cli)
            func service(_ users: [String: AuthConfiguration.User]) async throws -> TokenService {
                TokenService(issuer: try await TokenIssuer(issuer: "t", expiration: 60, signingKey: try SigningKey.generate()),
                             backends: [directory.accessTokens, directory, StaticUsers(users)], policies: directory.policies)
            }
            // The file's labels as they are now, not those of the token's creation.
            let withCarol = try await service(["carol": AuthConfiguration.User(password: Self.hash, labels: ["team": ["new"]])])
            #expect(try await login(withCarol, "carol", token.secret).labels == ["team": ["new"]])
            // Carol removed from the file: her token stops working.
            let without = try await service(["dave": AuthConfiguration.User(password: Self.hash, labels: nil)])
            await #expect(throws: AuthError.unauthorized("the access token's account no longer exists")) { try await login(without, "carol", token.secret) }
        }
    }
}

/// A scheduled job (retention) is taken by one replica per interval.
@Suite struct JobClaimSuite {
    @Test(arguments: AccountEngine.allCases)
    func oneReplicaTakesEachRun(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let now = Date()
            func claim(_ replica: String, after seconds: TimeInterval, _ name: String = "retention") async throws -> Bool {
                try await store.claimJob(name, interval: 3600, replica: replica, now: now.addingTimeInterval(seconds))
            }
            let first = try await claim("a", after: 0), second = try await claim("b", after: 0)
            let early = try await claim("a", after: 1800), due = try await claim("b", after: 3601), other = try await claim("a", after: 0, "other")
            #expect(first && !second && !early && due && other)
        }
    }
}
