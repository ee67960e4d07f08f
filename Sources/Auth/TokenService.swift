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
    /// OAuth2 `grant_type=refresh_token`: the token to exchange instead of credentials.
    public var refreshToken: String?
    public var clientID: String?

    public init(service: String, scopes: [String], account: String?, credentials: (user: String, password: String)?, clientIP: IPAddress?,
                wantsRefreshToken: Bool = false, refreshToken: String? = nil, clientID: String? = nil) {
        self.service = service
        self.scopes = scopes
        self.account = account
        self.credentials = credentials
        self.clientIP = clientIP
        self.wantsRefreshToken = wantsRefreshToken
        self.refreshToken = refreshToken
        self.clientID = clientID
    }
}

public struct TokenResponse: Sendable, Encodable {
    public var token: String
    public var access_token: String
    public var expires_in: Int
    public var issued_at: String
    public var refresh_token: String?
}

/// docker_auth's token flow: authenticate, authorize every requested scope through the
/// ACL (a partial or empty grant is not an error), sign.
public struct TokenService: Sendable {
    public let issuer: TokenIssuer
    let backends: [any IdentityBackend]
    let acl: ACL
    let allowsAnonymous: Bool
    let refreshTokens: any RefreshTokenStore
    let limiter: FailedLoginLimiter

    public init(issuer: TokenIssuer, backends: [any IdentityBackend], acl: ACL, allowsAnonymous: Bool,
                refreshTokens: any RefreshTokenStore = InMemoryRefreshTokenStore(),
                limiter: FailedLoginLimiter = FailedLoginLimiter()) {
        self.limiter = limiter
        self.issuer = issuer
        self.backends = backends
        self.acl = acl
        self.allowsAnonymous = allowsAnonymous
        self.refreshTokens = refreshTokens
    }

    /// Builds the service a docker_auth configuration describes.
    public static func make(_ config: AuthConfiguration, signingKey: SigningKey,
                            refreshTokens: any RefreshTokenStore = InMemoryRefreshTokenStore()) async throws -> TokenService {
        let users = StaticUsers(config.users ?? [:])
        let issuer = try await TokenIssuer(issuer: config.token.issuer, expiration: config.token.expiration, signingKey: signingKey)
        return TokenService(issuer: issuer, backends: [users], acl: try ACL(config.acl ?? []), allowsAnonymous: users.allowsAnonymous,
                            refreshTokens: refreshTokens)
    }

    /// The account a refresh token was issued to, if the token is known, young enough and
    /// its account still exists.
    func redeem(_ token: String) async throws -> Identity {
        let id = RefreshTokens.id(of: token)
        guard token.utf8.count <= 256, let record = try await refreshTokens.load(id: id),
              Date().timeIntervalSince(record.issuedAt) < RefreshTokens.maxAge else {
            throw AuthError.unauthorized("invalid refresh token")
        }
        for backend in backends {
            if let identity = try await backend.lookup(user: record.account) { return identity }
        }
        try? await refreshTokens.delete(id: id)
        throw AuthError.unauthorized("the account of this refresh token no longer exists")
    }


    public func authenticate(_ request: TokenRequest) async throws(AuthError) -> Identity {
        guard let credentials = request.credentials else {
            guard allowsAnonymous else { throw AuthError.unauthorized("authentication required") }
            return .anonymous
        }
        if let account = request.account, !account.isEmpty, account != credentials.user {
            throw AuthError.badRequest("account does not match the authenticated user")
        }
        guard credentials.user.utf8.count <= 256, credentials.password.utf8.count <= 1024 else {
            throw AuthError.unauthorized("invalid credentials")
        }
        let backends = self.backends
        let identity: Identity?
        do {
            identity = try await limiter.attempt(account: credentials.user, address: request.clientIP) {
                for backend in backends {
                    if let identity = try await backend.authenticate(user: credentials.user, password: credentials.password) {
                        return identity
                    }
                }
                return nil
            }
        } catch let error as AuthError {
            throw error
        } catch {
            throw AuthError.unauthorized("authentication failed")
        }
        guard let identity else { throw AuthError.unauthorized("invalid credentials") }
        return identity
    }

    public func issueToken(_ request: TokenRequest) async throws -> TokenResponse {
        guard request.service.utf8.count <= 256 else { throw AuthError.badRequest("service name too long") }
        let scopes = try ResourceScope.parseAll(request.scopes)
        guard scopes.count <= 64 else { throw AuthError.badRequest("too many scopes") }
        let identity: Identity
        if let refreshToken = request.refreshToken {
            identity = try await redeem(refreshToken)
        } else {
            identity = try await authenticate(request)
        }
        var refreshToken: String?
        if request.wantsRefreshToken, request.refreshToken == nil, !identity.account.isEmpty {
            let token = RefreshTokens.make()
            try await refreshTokens.save(RefreshTokenRecord(account: identity.account, issuedAt: Date(), clientID: request.clientID),
                                         id: RefreshTokens.id(of: token))
            refreshToken = token
        }
        let granted = scopes.map { scope in
            let actions = acl.authorize(AccessRequest(account: identity.account, labels: identity.labels, type: scope.type,
                                                      name: scope.name, service: request.service, ip: request.clientIP,
                                                      actions: scope.actions)) ?? []
            return ResourceScope(type: scope.type, name: scope.name, actions: actions)
        }
        let (token, expiresIn, issuedAt) = try await issuer.issue(subject: identity.account, audience: request.service, access: granted)
        return TokenResponse(token: token, access_token: token, expires_in: expiresIn,
                             issued_at: issuedAt.formatted(.iso8601), refresh_token: refreshToken)
    }
}
