import Auth

/// The accounts the web UI signs people in with: this server's authentication, through the
/// same identity backends, failed-login limiter and access gate as the registry API. A new
/// kind of accounts is a new conformer.
protocol WebAccounts: Sendable {
    /// Checks a password; only a wrong one counts against the limiter.
    func signIn(user: String, password: String, address: IPAddress?) async throws -> Identity
    /// Where sessions are recorded.
    var sessions: any RefreshTokenStore { get }
    /// The account as it is now, nil when it is gone (`remembered`: the labels the session
    /// began with, kept where the holder cannot be asked).
    func current(_ account: String, remembered labels: [String: [String]]?) async throws -> Identity?
    /// Who an unsigned visitor is: nobody, unless the rules give anonymous users something.
    func anonymous() async -> Identity?
    /// What a signed-in visitor may do.
    var gate: AccessGate { get }
    /// The token service behind the accounts, for the pages that are its own (the rules'
    /// tester, provider sign-in); nil for accounts without one.
    var tokenService: TokenService? { get }
}

/// Berth's token service (built-in accounts or an auth_config.yml).
struct TokenServiceAccounts: WebAccounts {
    let service: TokenService
    let serviceName: String

    func signIn(user: String, password: String, address: IPAddress?) async throws -> Identity {
        let identity = try await service.authenticate(TokenRequest(
            service: serviceName, scopes: [], account: nil, credentials: (user, password), clientIP: address,
            wantsRefreshToken: false, clientID: WebSession.clientID))
        // A CI job's token is for the registry, minutes long, and an access token may be
        // limited to some repositories: neither becomes a 12-hour web session.
        guard identity.provenance == nil else {
            throw AuthError.unauthorized("\(identity.provenance!) cannot sign in to the web UI; use the account's password")
        }
        return identity
    }

    var sessions: any RefreshTokenStore { service.refreshTokens }

    func current(_ account: String, remembered labels: [String: [String]]?) async throws -> Identity? {
        try await service.currentIdentity(account, remembered: labels)
    }

    func anonymous() async -> Identity? {
        (try? await service.allowsAnonymous()) == true ? .anonymous : nil
    }

    var gate: AccessGate { AccessGate(policy: service.policy, service: serviceName) }
    var tokenService: TokenService? { service }
}

/// `auth.htpasswd`; its sessions are kept in the storage, there being no database.
struct HtpasswdWebAccounts: WebAccounts {
    let accounts: HtpasswdAccounts
    let sessions: any RefreshTokenStore

    func signIn(user: String, password: String, address: IPAddress?) async throws -> Identity {
        try await accounts.passwords.check(user: user, password: password, address: address)
    }

    func current(_ account: String, remembered labels: [String: [String]]?) async throws -> Identity? {
        for backend in accounts.backends {
            if let identity = try await backend.lookup(user: account) { return identity }
        }
        return nil
    }

    func anonymous() async -> Identity? { nil }
    var gate: AccessGate { AccessGate(policy: accounts.policy, service: accounts.realm) }
    var tokenService: TokenService? { nil }
}
