import Auth
import Foundation
import Testing

/// OpenID Connect sign-in's configuration (docker_auth's `oidc_auth` keys), the flow's PKCE
/// and the mapping from a provider's claims to an account and labels.
@Suite struct SignInTests {
    static let yaml = """
        issuer: https://accounts.example.com
        redirect_url: https://registry.example.com/oidc_auth
        client_id: berth
        client_secret: s3cret
        label_claims: [groups]
        """

    @Test func docker_authsSectionIsReadWithItsMisspelling() throws {
        let config = try OIDCSignInConfiguration.parse(yaml: Self.yaml, key: "auth.token.oidc_auth")
        #expect(config.userClaim == "email" && config.labelClaims == ["groups"] && config.requestedScopes == ["openid", "email"])
        #expect(config.redirectPath == "/oidc_auth" && config.displayName == "accounts.example.com" && config.createsAccounts)
        #expect(try config.passwordLifetime() == .seconds(12 * 3600))
        let auth = try AuthConfiguration.parse(yaml: "token: {issuer: t, expiration: 900}\noidc_auth:\n" + Self.yaml.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\nacl: []\n")
        #expect(auth.oidc_auth?.client_id == "berth")
    }

    @Test func mistakesAreNamedAtStart() throws {
        func refused(_ change: (String) -> String) -> String? {
            do { _ = try OIDCSignInConfiguration.parse(yaml: change(Self.yaml), key: "oidc_auth"); return nil } catch { return "\(error)" }
        }
        #expect(refused { $0 + "\nclient_secert: x" }?.contains("oidc_auth.client_secert") == true)
        #expect(refused { $0.replacingOccurrences(of: "https://accounts", with: "http://accounts") }?.contains("must be https") == true)
        #expect(refused { $0.replacingOccurrences(of: "client_secret: s3cret", with: "") }?.contains("client_secret") == true)
        #expect(refused { $0.replacingOccurrences(of: "https://registry.example.com/oidc_auth", with: "oidc_auth") }?.contains("redirect_url") == true)
        #expect(refused { $0 + "\npassword_lifetime: forever" }?.contains("password_lifetime") == true)
        #expect(refused { $0.replacingOccurrences(of: "https://accounts.example.com", with: "http://127.0.0.1:9000") } == nil)
    }

    @Test func theSecretMayComeFromAFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("berth-oidc-\(UUID().uuidString)")
        try Data("from-file\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var config = try OIDCSignInConfiguration.parse(yaml: Self.yaml, key: "oidc_auth")
        config.client_secret = nil
        config.client_secret_file = file.path
        #expect(try config.secret() == "from-file")
    }

    @Test func eachFlowHasItsOwnStateNonceAndPKCEChallenge() {
        let a = SignInFlow.start(provider: "oidc", purpose: .session, next: nil)
        let b = SignInFlow.start(provider: "oidc", purpose: .session, next: nil)
        #expect(a.state != b.state && a.nonce != b.nonce && a.verifier != b.verifier && a.state.count >= 43)
        var known = a
        known.verifier = "dBjftJeZ4CVP-mJ92K9EqTr6RKlC6hlq4k4Wd0XOAUc"
        // base64url(SHA-256(verifier)) without padding, as computed by Python's hashlib.
        #expect(known.challenge == "07j476AjWuab4Sg8x5-kc1RUOMdh_mZ_iIkZF9gXm3k")
        #expect(!a.isExpired() && a.isExpired(at: Date().addingTimeInterval(Double(SignInFlow.lifetime) + 1)))
    }

    @Test func claimsNameTheAccountAndGiveLabels() throws {
        let claims: [String: Any] = ["email": "alice@example.test", "email_verified": true, "groups": ["team-a", "ops*"], "sub": "1"]
        let person = try FederatedIdentity.from(claims: claims, userClaim: "email", labelClaims: ["groups"], provenance: "oidc x")
        #expect(person.account == "alice@example.test" && person.labels == ["groups": ["team-a"]] && person.labelKeys == ["groups"])
        #expect(throws: AuthError.self) {
            try FederatedIdentity.from(claims: ["email": "a@b", "email_verified": false], userClaim: "email", labelClaims: [], provenance: "")
        }
        #expect(throws: AuthError.self) { try FederatedIdentity.from(claims: ["sub": "1"], userClaim: "email", labelClaims: [], provenance: "") }
        // An email the provider does not say it verified names nobody.
        #expect(throws: AuthError.self) { try FederatedIdentity.from(claims: ["email": "a@b", "sub": "1"], userClaim: "email", labelClaims: [], provenance: "") }
        #expect(person.subject == "1")
        #expect(try FederatedIdentity.from(claims: ["preferred_username": "bob"], userClaim: "preferred_username", labelClaims: ["groups"],
                                           provenance: "").labels.isEmpty)
    }
}

/// docker_auth's other provider sections: gitlab_auth and google_auth sign in as OpenID
/// Connect (their keys mapped), github_auth keeps its own keys.
@Suite struct ProviderSectionTests {
    @Test func gitlabIsOpenIDConnectWithGroups() throws {
        let gitlab = try GitLabSignInConfiguration.parseSection(yaml: """
            client_id: app
            client_secret: s
            redirect_uri: https://registry.example.com/gitlab_auth
            grant_type: authorization_code
            gitlab_api_uri: https://gitlab.com/api/v4
            """, key: "gitlab_auth", known: GitLabSignInConfiguration.knownKeys)
        let oidc = try gitlab.oidc()
        #expect(oidc.issuer == "https://gitlab.com" && oidc.userClaim == "preferred_username" && oidc.labelClaims == ["groups"])
        #expect(oidc.redirectPath == "/gitlab_auth" && oidc.displayName == "GitLab")
        var wrong = gitlab
        wrong.grant_type = "password"
        #expect(throws: AuthError.self) { try wrong.oidc() }
        #expect(throws: AuthError.self) {
            try GitLabSignInConfiguration.parseSection(yaml: "client_id: a\nredirect_uri: https://r/gitlab_auth\nclient_scret: x",
                                                       key: "gitlab_auth", known: GitLabSignInConfiguration.knownKeys)
        }
    }

    @Test func googleNeedsARedirectAndChecksTheDomain() throws {
        var google = try GoogleSignInConfiguration.parseSection(yaml: "domain: example.com\nclient_id: a.apps.googleusercontent.com\nclient_secret: s",
                                                               key: "google_auth", known: GoogleSignInConfiguration.knownKeys)
        #expect(throws: AuthError.self) { try google.oidc() }
        google.redirect_url = "https://registry.example.com/google_auth"
        let oidc = try google.oidc()
        #expect(oidc.issuer == "https://accounts.google.com" && oidc.userClaim == "email" && google.required == ["hd": "example.com"])
    }

    @Test func githubKeepsDocker_authsKeys() throws {
        let github = try GitHubSignInConfiguration.parse(yaml: """
            organization: acme
            client_id: Iv1.abc
            client_secret: s
            github_web_uri: https://github.example.com
            github_api_uri: https://github.example.com/api/v3
            revalidate_after: 30m
            level_token_db: {path: /data/tokens.ldb}
            """, key: "github_auth")
        #expect(github.webURI == "https://github.example.com" && github.apiURI == "https://github.example.com/api/v3")
        #expect(try github.revalidateAfter() == .seconds(1800) && github.callbackPath == "/github_auth" && github.displayName == "github.example.com")
        #expect(throws: AuthError.self) {
            try GitHubSignInConfiguration.parse(yaml: "client_id: a\nclient_secret: s\ngithub_api_uri: http://api.example.com", key: "github_auth")
        }
    }
}
