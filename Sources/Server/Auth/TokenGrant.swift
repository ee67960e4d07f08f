import Auth

/// What proves the caller of a token request: credentials (a password, an access token, a
/// CI job's token: the identity backends decide which) or a refresh token.
struct TokenGrantProof: Sendable {
    var credentials: (user: String, password: String)?
    var refreshToken: String?
}

/// One `grant_type` of the token endpoint (the Docker token protocol and its OAuth2 form).
protocol TokenGrant: Sendable {
    /// From the request's parameters and its Authorization header's credentials.
    func proof(parameters: (String) -> String?, credentials: (user: String, password: String)?) throws(AuthError) -> TokenGrantProof
}

/// `password` (and no grant_type, the GET form docker uses): Basic or Bearer credentials, or
/// a POST's username and password, as given.
struct PasswordGrant: TokenGrant {
    func proof(parameters: (String) -> String?, credentials: (user: String, password: String)?) throws(AuthError) -> TokenGrantProof {
        TokenGrantProof(credentials: credentials)
    }
}

/// `refresh_token`: the identity token docker saved at login; credentials are not used.
struct RefreshTokenGrant: TokenGrant {
    func proof(parameters: (String) -> String?, credentials: (user: String, password: String)?) throws(AuthError) -> TokenGrantProof {
        guard let token = parameters("refresh_token") else { throw .badRequest("refresh_token is required") }
        return TokenGrantProof(refreshToken: token)
    }
}
