import Auth

/// Who a token request proved to be, and whether it may also get a refresh token.
struct GrantedCaller: Sendable {
    var identity: Identity
    /// Whether a refresh token may be issued with the token when asked for: only for a
    /// login (a password grant), never for a token obtained with a refresh token or an assertion.
    var mayRefresh = false
}

/// One `grant_type` of the token endpoint (the Docker token protocol and its OAuth2 form): how
/// a token request proves its caller. The endpoint then issues what the access policy allows
/// that caller; a new way to obtain a token is one more conformer in its table.
protocol TokenGrant: Sendable {
    /// Throws `AuthError` for a refusal, a request missing what the grant needs, or a backend
    /// that cannot answer.
    func caller(_ request: TokenRequest, parameters: (String) -> String?, service: TokenService) async throws -> GrantedCaller
}

/// `password` (and no grant_type, the GET form docker uses): Basic or Bearer credentials, or
/// a POST's username and password, checked by the token service's backends; none: anonymous,
/// where the backends allow it.
struct PasswordGrant: TokenGrant {
    func caller(_ request: TokenRequest, parameters: (String) -> String?, service: TokenService) async throws -> GrantedCaller {
        GrantedCaller(identity: try await service.authenticate(request), mayRefresh: true)
    }
}

/// `refresh_token`: the identity token docker saved at login; credentials are not used.
struct RefreshTokenGrant: TokenGrant {
    func caller(_ request: TokenRequest, parameters: (String) -> String?, service: TokenService) async throws -> GrantedCaller {
        guard let token = parameters("refresh_token") else { throw AuthError.badRequest("refresh_token is required") }
        return GrantedCaller(identity: try await service.redeem(token))
    }
}
