import OCI
import Foundation

/// A token request as the HTTP layer hands it over.
public struct TokenRequest: Sendable {
    public var service: String
    public var scopes: [String]
    public var account: String?
    /// Credentials from Basic auth or the OAuth2 form; nil for an anonymous request.
    public var credentials: (user: String, password: String)?
    public var clientIP: IPAddress?
    /// `offline_token=true` (GET) or `access_type=offline` (POST): also return a refresh token.
    public var wantsRefreshToken = false
    public var clientID: String?

    public init(service: String, scopes: [String], account: String?, credentials: (user: String, password: String)?, clientIP: IPAddress?,
                wantsRefreshToken: Bool = false, clientID: String? = nil) {
        self.service = service
        self.scopes = scopes
        self.account = account
        self.credentials = credentials
        self.clientIP = clientIP
        self.wantsRefreshToken = wantsRefreshToken
        self.clientID = clientID
    }
}

public struct TokenResponse: Sendable, Encodable {
    public var token: String
    public var access_token: String
    public var expires_in: Int
    public var issued_at: String
    public var refresh_token: String?

    /// The body, byte for byte as JSONEncoder writes it with sorted keys. Tokens are
    /// base64url, times ISO 8601: with nothing to escape it is written directly, because
    /// JSONEncoder cost the endpoint as much as the signature did; any other value goes
    /// through JSONEncoder.
    public func json() throws -> [UInt8] {
        func plain(_ text: String) -> Bool {
            func allowed(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") }
            // Over the contiguous bytes: a token is a kilobyte, and UTF8View's iterator is slow.
            return text.utf8.withContiguousStorageIfAvailable { $0.allSatisfy(allowed) } ?? text.utf8.allSatisfy(allowed)
        }
        // `access_token` is `token` (docker reads one, OAuth clients the other): scanned once.
        guard plain(token), access_token == token || plain(access_token), plain(issued_at), refresh_token.map(plain) ?? true else {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return [UInt8](try encoder.encode(self))
        }
        var body = #"{"access_token":"\#(access_token)","expires_in":\#(expires_in),"issued_at":"\#(issued_at)","#
        if let refresh_token { body += #""refresh_token":"\#(refresh_token)","# }
        body += #""token":"\#(token)"}"#
        return Array(body.utf8)
    }
}

/// docker_auth's token flow: authenticate through the identity backends in order,
/// authorize every requested scope through the policy chain (a partial or empty grant is not
/// an error), sign.
public struct TokenService: Sendable {
    public let issuer: TokenIssuer
    let backends: [any IdentityBackend]
    public let policy: PolicyChain
    /// Refresh tokens, and the web UI's sessions.
    public let refreshTokens: any RefreshTokenStore
    let limiter: FailedLoginLimiter
    /// Told of every password login, successful or refused (the audit log).
    public var loginObserver: (@Sendable (_ account: String, _ address: IPAddress?, _ success: Bool, _ reason: String?) async -> Void)?

    public init(issuer: TokenIssuer, backends: [any IdentityBackend], policies: [any AccessPolicy],
                refreshTokens: any RefreshTokenStore = InMemoryRefreshTokenStore(),
                limiter: FailedLoginLimiter = FailedLoginLimiter()) {
        self.limiter = limiter
        self.issuer = issuer
        self.backends = backends
        self.policy = PolicyChain(policies)
        self.refreshTokens = refreshTokens
    }

    /// Builds the service a docker_auth configuration describes; `backends` and `policies`
    /// (a database, for instance) are asked after the file's `users` and `acl`.
    public static func make(_ config: AuthConfiguration, signingKey: SigningKey,
                            refreshTokens: any RefreshTokenStore = InMemoryRefreshTokenStore(),
                            limiter: FailedLoginLimiter = FailedLoginLimiter(),
                            backends: [any IdentityBackend] = [], precedingBackends: [any IdentityBackend] = [],
                            precedingPolicies: [any AccessPolicy] = [],
                            keySets: (any KeySetSource)? = nil,
                            policies: [any AccessPolicy] = []) async throws -> TokenService {
        let issuer = try await TokenIssuer(issuer: config.token.issuer, expiration: config.token.expiration, signingKey: signingKey)
        // docker_auth's fixed orders: static users, ext_auth, LDAP, then the others; the static
        // acl, the database's rules, then ext_authz.
        var staticBackends: [any IdentityBackend] = []
        // Workload tokens first: a CI job's `-u` is any name, which a user list may also hold.
        if let issuers = config.workload_auth, !issuers.isEmpty {
            guard let keySets else { throw AuthError.configuration("workload_auth needs a way to fetch the issuers' keys") }
            staticBackends.append(try WorkloadIdentities(issuers, source: keySets))
        }
        // Then access tokens: a token is its own proof, whichever backend holds the account.
        staticBackends += precedingBackends
        if let users = config.users { staticBackends.append(StaticUsers(users)) }
        if let ext = config.ext_auth { staticBackends.append(ExternalAuthentication(try program(ext, "ext_auth"))) }
        if let ldap = config.ldap_auth { staticBackends.append(try LDAPAuthentication(ldap)) }
        var staticPolicies: [any AccessPolicy] = []
        if let acl = config.acl { staticPolicies.append(try ACL(acl)) }
        var finalPolicies: [any AccessPolicy] = []
        if let ext = config.ext_authz { finalPolicies.append(ExternalAuthorization(try program(ext, "ext_authz"))) }
        return TokenService(issuer: issuer, backends: staticBackends + backends,
                            policies: precedingPolicies + staticPolicies + policies + finalPolicies,
                            refreshTokens: refreshTokens, limiter: limiter)
    }

    static func program(_ config: AuthConfiguration.ExternalProgram, _ key: String) throws -> ExternalProgram {
        let timeout = try GoDuration.parse(config.timeout, key: "\(key).timeout", default: .seconds(10))
        do {
            return try ExternalProgram(command: config.command, arguments: config.args ?? [], timeout: timeout)
        } catch {
            throw AuthError.configuration("\(key).command: \(error)")
        }
    }

    /// The account as the backends know it now, for refresh tokens and sessions that must
    /// end when it is disabled or removed. When no backend knows it but one cannot be asked
    /// (an external program), the identity it was issued with (`remembered`) stands; nil:
    /// the account is gone.
    public func currentIdentity(_ account: String, remembered labels: [String: [String]]? = nil) async throws -> Identity? {
        for backend in backends {
            if let identity = try await backend.lookup(user: account) { return identity }
        }
        if backends.contains(where: { !$0.answersLookups }) { return Identity(account: account, labels: labels ?? [:]) }
        return nil
    }

    /// Whether a backend other than `except` knows `account` (a file's user, an LDAP person):
    /// a sign-in provider must not become such an account.
    public func otherBackendKnows(_ account: String, except: (any IdentityBackend) -> Bool) async throws -> Bool {
        for backend in backends where !except(backend) {
            if try await backend.lookup(user: account) != nil { return true }
        }
        return false
    }

    /// Whether some backend accepts requests without credentials.
    public func allowsAnonymous() async throws -> Bool {
        for backend in backends where try await backend.allowsAnonymous() { return true }
        return false
    }

    /// The account a refresh token was issued to, if the token is known, young enough and
    /// its account still exists.
    public func redeem(_ token: String) async throws -> Identity {
        let id = RefreshTokens.id(of: token)
        guard token.utf8.count <= 256, let record = try await refreshTokens.load(id: id),
              Date().timeIntervalSince(record.issuedAt) < RefreshTokens.maxAge else {
            throw AuthError.unauthorized("invalid refresh token")
        }
        guard let identity = try await currentIdentity(record.account, remembered: record.labels) else {
            try? await refreshTokens.delete(id: id)
            throw AuthError.unauthorized("the account of this refresh token no longer exists")
        }
        guard RefreshTokens.stillValid(issuedUnder: record.validSince, issuedAt: record.issuedAt, current: identity.validSince) else {
            try? await refreshTokens.delete(id: id)
            throw AuthError.unauthorized("this refresh token was issued before the account's credentials changed")
        }
        return identity
    }


    public func authenticate(_ request: TokenRequest) async throws(AuthError) -> Identity {
        guard let given = request.credentials else {
            let anonymous: Bool
            do { anonymous = try await allowsAnonymous() } catch { throw AuthError.unavailable("\(error)") }
            guard anonymous else { throw AuthError.unauthorized("authentication required") }
            return .anonymous
        }
        let credentials = (user: AccountName.canonical(given.user), password: given.password)
        guard AccountName.isAcceptable(credentials.user) else {
            await loginObserver?(String(credentials.user.prefix(64)), request.clientIP, false, "name with control or invisible characters")
            throw AuthError.unauthorized("invalid credentials")
        }
        if let account = request.account.map(AccountName.canonical), !account.isEmpty, account != credentials.user {
            throw AuthError.badRequest("account does not match the authenticated user")
        }
        // A CI system's token (workload_auth) is a password of one or two kilobytes.
        guard credentials.user.utf8.count <= 256, credentials.password.utf8.count <= 16 * 1024 else {
            throw AuthError.unauthorized("invalid credentials")
        }
        let backends = self.backends
        let identity: Identity?
        do {
            identity = try await limiter.attempt(account: credentials.user, address: request.clientIP, password: credentials.password) {
                try await backends.authenticate(user: credentials.user, password: credentials.password)
            }
        } catch let error as AuthError {
            if error.isRefusal {
                await loginObserver?(credentials.user, request.clientIP, false, error.description)
            } else if case .tooManyRequests = error {
                await loginObserver?(credentials.user, request.clientIP, false, "throttled")
            }
            throw error
        } catch {
            // Not a wrong password: a backend that failed. Never a grant, never counted.
            throw AuthError.unavailable("authentication backend failed: \(error)")
        }
        guard var identity else {
            await loginObserver?(credentials.user, request.clientIP, false, "unknown account")
            throw AuthError.unauthorized("invalid credentials")
        }
        if identity.accountHeldElsewhere {
            let current: Identity?
            do { current = try await currentIdentity(identity.account, remembered: identity.labels) } catch let error as AuthError {
                throw error
            } catch {
                throw AuthError.unavailable("authentication backend failed: \(error)")
            }
            guard let current else {
                await loginObserver?(identity.account, request.clientIP, false, "access token of an account that no longer exists")
                throw AuthError.unauthorized("the access token's account no longer exists")
            }
            identity.labels = current.labels
            identity.accountHeldElsewhere = false
        }
        await loginObserver?(identity.account, request.clientIP, true, identity.provenance)
        return identity
    }

    /// A login (the request's credentials, or none) and its token: what the token endpoint's
    /// `password` grant does.
    public func issueToken(_ request: TokenRequest) async throws -> TokenResponse {
        let scopes = try requestedScopes(request)
        return try await issueToken(to: try await authenticate(request), for: request, scopes: scopes, mayRefresh: true)
    }

    /// The request's scopes, checked before anyone is authenticated for it (bad input costs
    /// no password check).
    public func requestedScopes(_ request: TokenRequest) throws(AuthError) -> [ResourceScope] {
        guard request.service.utf8.count <= 256 else { throw AuthError.badRequest("service name too long") }
        let scopes = try ResourceScope.parseAll(request.scopes)
        guard scopes.count <= 64 else { throw AuthError.badRequest("too many scopes") }
        return scopes
    }

    /// The token for a caller some grant has proven: `scopes` as far as the access policy
    /// allows them, and a refresh token when asked for and `mayRefresh` (not for a token
    /// that was itself obtained with one).
    public func issueToken(to identity: Identity, for request: TokenRequest, scopes: [ResourceScope],
                           mayRefresh: Bool) async throws -> TokenResponse {
        var refreshToken: String?
        // A workload token (a CI job's, minutes long) is never turned into a refresh token
        // that would outlive it: the client keeps sending the token itself.
        if request.wantsRefreshToken, mayRefresh, !identity.account.isEmpty, identity.provenance == nil {
            let token = RefreshTokens.make()
            try await refreshTokens.save(RefreshTokenRecord(account: identity.account, issuedAt: Date(), clientID: request.clientID,
                                                            labels: identity.labels.isEmpty ? nil : identity.labels,
                                                            validSince: identity.validSince),
                                         id: RefreshTokens.id(of: token))
            refreshToken = token
        }
        var granted: [ResourceScope] = []
        for scope in scopes {
            let actions = try await policy.grantedActions(AccessRequest(
                identity: identity, type: scope.type, name: scope.name,
                service: request.service, ip: request.clientIP, actions: scope.actions))
            granted.append(ResourceScope(type: scope.type, name: scope.name, actions: actions))
        }
        let (token, expiresIn, issuedAt) = try await issuer.issue(subject: identity.account, audience: request.service, access: granted)
        return TokenResponse(token: token, access_token: token, expires_in: expiresIn,
                             issued_at: UTCTimestamp.iso8601(secondsSince1970: Int(issuedAt.timeIntervalSince1970)), refresh_token: refreshToken)
    }
}
