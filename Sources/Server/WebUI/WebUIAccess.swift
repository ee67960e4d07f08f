import Auth
import Foundation

/// Who the web UI's visitor is and what they may see, through the same identity backends,
/// failed-login limiter and access policy as the registry API.
enum WebUIAccess: Sendable {
    /// No authentication configured: everyone sees everything, nobody signs in.
    case open
    /// Berth's token service (built-in accounts or an auth_config.yml).
    case token(TokenService, serviceName: String)
    /// `auth.htpasswd`; its sessions are kept in the storage, there being no database.
    case basic(HtpasswdAccounts, sessions: any RefreshTokenStore)

    var allowsSignIn: Bool {
        if case .open = self { return false }
        return true
    }

    /// Checks a password; only a wrong one counts against the limiter.
    func signIn(user: String, password: String, address: IPAddress?) async throws -> Identity {
        switch self {
        case .open:
            throw AuthError.badRequest("this registry has no accounts")
        case .token(let service, let serviceName):
            let identity = try await service.authenticate(TokenRequest(
                service: serviceName, scopes: [], account: nil, credentials: (user, password), clientIP: address,
                wantsRefreshToken: false, refreshToken: nil, clientID: WebSession.clientID))
            // A CI job's token is for the registry, minutes long, and an access token may be
            // limited to some repositories: neither becomes a 12-hour web session.
            guard identity.provenance == nil else {
                throw AuthError.unauthorized("\(identity.provenance!) cannot sign in to the web UI; use the account's password")
            }
            return identity
        case .basic(let accounts, _):
            return try await accounts.passwords.check(user: user, password: password, address: address)
        }
    }

    /// Where sessions are recorded: beside refresh tokens (the accounts database), or in
    /// the storage for htpasswd.
    var sessions: (any RefreshTokenStore)? {
        switch self {
        case .open: nil
        case .token(let service, _): service.refreshTokens
        case .basic(_, let sessions): sessions
        }
    }

    /// Records a new session for `identity`; the cookie is worth nothing without it.
    func startSession(_ identity: Identity, now: Date = Date()) async throws -> WebSession {
        let session = WebSession.new(identity, now: now)
        guard let sessions, let id = session.recordID else { throw AuthError.badRequest("this registry has no accounts") }
        try await sessions.save(RefreshTokenRecord(account: identity.account, issuedAt: now, clientID: WebSession.clientID,
                                                   labels: session.labels, validSince: identity.validSince), id: id)
        // The accounts database purges its own; sessions kept in the storage go at sign-in,
        // once past their lifetime (a sign-in lists the live ones: a small team's few).
        if let files = sessions as? StorageRefreshTokenStore {
            try? await files.purge(issuedBefore: now.addingTimeInterval(-TimeInterval(WebSession.lifetime)))
        }
        return session
    }

    /// Signing out: the session's record goes, so the cookie is refused wherever it is used.
    func endSession(_ session: WebSession) async throws {
        guard let sessions, let id = session.recordID else { return }
        try await sessions.delete(id: id)
    }

    /// The signed-in account as it is now: nil when the session was signed out or revoked,
    /// or the account was removed, disabled, expired, re-created or had its password changed
    /// after the session began.
    func revalidate(_ session: WebSession) async -> Identity? {
        do {
            guard let sessions, let id = session.recordID, let record = try await sessions.load(id: id),
                  record.account == session.account, record.clientID == WebSession.clientID else { return nil }
            let identity: Identity? = switch self {
            case .open: nil
            case .token(let service, _): try await service.currentIdentity(session.account, remembered: session.labels)
            case .basic(let accounts, _): try await Self.lookup(session.account, in: accounts.backends)
            }
            guard let identity,
                  RefreshTokens.stillValid(issuedUnder: record.validSince, issuedAt: record.issuedAt, current: identity.validSince) else {
                return nil
            }
            return identity
        } catch {
            return nil
        }
    }

    private static func lookup(_ account: String, in backends: [any IdentityBackend]) async throws -> Identity? {
        for backend in backends {
            if let identity = try await backend.lookup(user: account) { return identity }
        }
        return nil
    }

    /// Whether there are accounts to sign in with (not an open registry).
    var hasAccounts: Bool {
        if case .open = self { return false }
        return true
    }

    /// Who an unsigned visitor is: nobody, unless the rules give anonymous users something.
    func anonymous() async -> Identity? {
        switch self {
        case .open: return .anonymous
        case .token(let service, _): return (try? await service.allowsAnonymous()) == true ? .anonymous : nil
        case .basic: return nil
        }
    }

    /// The actions `identity` has on `repository` among `wanted`.
    func granted(_ identity: Identity, repository: String, _ wanted: [String], address: IPAddress?) async -> Set<String> {
        let policy: PolicyChain
        let service: String
        switch self {
        case .open: return Set(wanted)
        case .token(let tokenService, let serviceName): policy = tokenService.policy; service = serviceName
        case .basic(let accounts, _): policy = accounts.policy; service = accounts.realm
        }
        let request = AccessRequest(identity: identity, type: "repository", name: repository,
                                    service: service, ip: address, actions: wanted)
        return (try? await policy.grantedActions(request)).map(Set.init) ?? []
    }
}
