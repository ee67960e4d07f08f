import Auth
import Foundation

/// Who the web UI's visitor is and what they may see, through the same identity backends,
/// failed-login limiter and access policy as the registry API.
enum WebUIAccess: Sendable {
    /// No authentication configured: everyone sees everything, nobody signs in.
    case open
    /// Berth's token service (built-in accounts or an auth_config.yml).
    case token(TokenService, serviceName: String)
    /// `auth.htpasswd`.
    case basic(BasicAuthorizer)

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
            return try await service.authenticate(TokenRequest(
                service: serviceName, scopes: [], account: nil, credentials: (user, password), clientIP: address,
                wantsRefreshToken: false, refreshToken: nil, clientID: "berth-web-ui"))
        case .basic(let authorizer):
            let backends = authorizer.backends
            guard let identity = try await authorizer.limiter.attempt(account: user, address: address, {
                try await backends.authenticate(user: user, password: password)
            }) else { throw AuthError.unauthorized("invalid credentials") }
            return identity
        }
    }

    /// The signed-in account as it is now: nil when it was removed, disabled, expired, or
    /// re-created after the session began.
    func revalidate(_ session: WebSession) async -> Identity? {
        do {
            let identity: Identity? = switch self {
            case .open: nil
            case .token(let service, _): try await service.currentIdentity(session.account, remembered: session.labels)
            case .basic(let authorizer): try await Self.lookup(session.account, in: authorizer.backends)
            }
            guard let identity else { return nil }
            if let since = identity.validSince, Double(session.issued) + 1 < since.timeIntervalSince1970 { return nil }
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
        case .basic(let authorizer): policy = authorizer.policy; service = authorizer.realm
        }
        let request = AccessRequest(account: identity.account, labels: identity.labels, type: "repository", name: repository,
                                    service: service, ip: address, actions: wanted)
        return (try? await policy.grantedActions(request)).map(Set.init) ?? []
    }
}
