import Auth

/// Checks an account's password, through the failed-login limiter: for Basic auth at the
/// doors and the web UI's sign-in alike.
protocol PasswordChecker: Sendable {
    /// The account the password proves; throws `AuthError.unauthorized` for a wrong one or an
    /// unknown account, `.tooManyRequests` once throttled, `.unavailable` when a backend
    /// cannot answer.
    func check(user: String, password: String, address: IPAddress?) async throws -> Identity
}

/// The identity backends directly (`auth.htpasswd`, where no token service runs).
struct BackendPasswords: PasswordChecker {
    let backends: [any IdentityBackend]
    var limiter = FailedLoginLimiter()

    func check(user: String, password: String, address: IPAddress?) async throws -> Identity {
        let user = AccountName.canonical(user)
        guard AccountName.isAcceptable(user) else { throw AuthError.unauthorized("invalid credentials") }
        let backends = self.backends
        let found = try await limiter.attempt(account: user, address: address, password: password) {
            try await backends.authenticate(user: user, password: password)
        }
        guard let found else { throw AuthError.unauthorized("invalid credentials") }
        return found
    }
}

/// The token service's login: its backends, access tokens, CI jobs' tokens and limiter.
struct TokenServicePasswords: PasswordChecker {
    let service: TokenService
    let serviceName: String

    func check(user: String, password: String, address: IPAddress?) async throws -> Identity {
        try await service.authenticate(TokenRequest(service: serviceName, scopes: [], account: nil,
                                                    credentials: (user, password), clientIP: address))
    }
}
