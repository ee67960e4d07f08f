import OCI
import Foundation
import Yams

/// docker_auth's `oidc_auth`: people sign in at an OpenID Connect provider (Google, GitLab,
/// Keycloak, Dex, Azure AD…) from the web UI, or at `/oidc_auth` for a docker password. The
/// keys are docker_auth's, so its section works unchanged; Berth adds `create_accounts`,
/// `name` and `password_lifetime`.
public struct OIDCSignInConfiguration: Sendable, Decodable, Equatable {
    /// The provider; its endpoints come from `<issuer>/.well-known/openid-configuration`.
    public var issuer: String
    /// Where the provider sends the browser back: this server's `/oidc_auth` (under
    /// `server.path_prefix`), as registered with the provider.
    public var redirect_url: String
    public var client_id: String
    public var client_secret: String?
    public var client_secret_file: String?
    /// The claim that names the account (default `email`).
    public var user_claim: String?
    /// Claims whose values become labels of the same name (e.g. `groups`).
    public var labels_claims: [String]?
    /// docker_auth's example spells it so; its code reads `labels_claims`. Berth reads both.
    public var label_claims: [String]?
    /// Default `openid email` (plus the labels' claims' scopes, which the provider decides).
    public var scopes: [String]?
    /// The registry's address for the `docker login` lines of the result page.
    public var registry_url: String?
    /// Go duration, default 10s.
    public var http_timeout: String?
    /// Whether a person the provider vouches for gets an account on first sign-in (default
    /// true); false: only accounts an administrator created may sign in this way.
    public var create_accounts: Bool?
    /// The provider's name on the sign-in button (default: the issuer's host).
    public var name: String?
    /// How long the docker password of `/oidc_auth` works (default 12h).
    public var password_lifetime: String?
    /// How often the provider is asked whether it still accepts a person who signed in (with
    /// the refresh token it gave); one it refuses is signed out and their account disabled
    /// until they sign in there again. Default 1h (docker_auth's github_auth default).
    public var revalidate_after: String?

    public init(issuer: String, redirect_url: String, client_id: String, client_secret: String? = nil) {
        self.issuer = issuer
        self.redirect_url = redirect_url
        self.client_id = client_id
        self.client_secret = client_secret
    }

    public static let knownKeys: Set<String> = [
        "issuer", "redirect_url", "client_id", "client_secret", "client_secret_file", "user_claim", "labels_claims",
        "label_claims", "scopes", "registry_url", "http_timeout", "create_accounts", "name", "password_lifetime", "revalidate_after",
        // docker_auth's token databases: Berth keeps the generated passwords in its accounts database.
        "level_token_db", "gcs_token_db", "redis_token_db",
    ]

    public var userClaim: String { user_claim ?? "email" }
    public var labelClaims: [String] { (labels_claims ?? []) + (label_claims ?? []) }
    public var requestedScopes: [String] {
        var scopes = self.scopes ?? ["openid", "email"]
        if !scopes.contains("openid") { scopes.insert("openid", at: 0) }
        return scopes
    }
    public var createsAccounts: Bool { create_accounts ?? true }
    public var displayName: String { name ?? URL(string: issuer)?.host ?? issuer }

    public func timeout() throws -> Duration { try GoDuration.parse(http_timeout, key: "oidc_auth.http_timeout", default: .seconds(10)) }
    public func passwordLifetime() throws -> Duration {
        try Self.duration(password_lifetime, key: "oidc_auth.password_lifetime", default: .seconds(12 * 3600))
    }

    public func revalidateAfter() throws -> Duration {
        try Self.duration(revalidate_after, key: "oidc_auth.revalidate_after", default: .seconds(3600))
    }

    /// Lifetimes and revalidation periods: a Go duration up to a year (`12h`, `720h`).
    static func duration(_ text: String?, key: String, default fallback: Duration) throws -> Duration {
        try GoDuration.parse(text, key: key, default: fallback, limit: 366 * 86_400 + 1)
    }

    /// The client secret, from the file when one is named (trailing newline dropped).
    public func secret() throws -> String {
        if let file = client_secret_file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw AuthError.configuration("oidc_auth.client_secret_file: cannot read \(file)")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let client_secret, !client_secret.isEmpty else {
            throw AuthError.configuration("oidc_auth needs client_secret or client_secret_file")
        }
        return client_secret
    }

    /// The path this server answers the provider's redirect on.
    public var redirectPath: String { URL(string: redirect_url)?.path ?? "/oidc_auth" }

    /// Checked at start: a mistake would refuse everyone, or trust a provider over plain HTTP.
    public func validated() throws -> OIDCSignInConfiguration {
        guard let url = URL(string: issuer), let scheme = url.scheme, let host = url.host else {
            throw AuthError.configuration("oidc_auth.issuer: \(issuer.prefix(128)) is not a URL")
        }
        guard scheme == "https" || (scheme == "http" && WorkloadIssuer.isLoopbackHost(host)) else {
            throw AuthError.configuration("oidc_auth.issuer must be https (plain http only on loopback, for tests): \(issuer)")
        }
        guard let redirect = URL(string: redirect_url), ["http", "https"].contains(redirect.scheme ?? ""), redirect.host != nil,
              !redirect.path.isEmpty else {
            throw AuthError.configuration("oidc_auth.redirect_url: \(redirect_url.prefix(128)) is not a URL of this server (e.g. https://registry.example.com/oidc_auth)")
        }
        guard !client_id.isEmpty else { throw AuthError.configuration("oidc_auth.client_id is empty") }
        _ = try secret()
        _ = try timeout()
        _ = try passwordLifetime()
        _ = try revalidateAfter()
        return self
    }

    /// `auth.token.oidc_auth` of Berth's config.yml, given on its own: unknown keys are errors.
    public static func parse(yaml: String, key: String) throws -> OIDCSignInConfiguration {
        if let item = try? Yams.load(yaml: yaml) as? [String: Any],
           let unknown = item.keys.sorted().first(where: { !knownKeys.contains($0) }) {
            throw AuthError.configuration("\(key).\(unknown): not a key of oidc_auth (\(knownKeys.sorted().joined(separator: ", ")))")
        }
        do {
            return try YAMLDecoder().decode(OIDCSignInConfiguration.self, from: yaml).validated()
        } catch let error as DecodingError {
            throw AuthError.configuration("\(key): \(AuthConfiguration.describe(error))")
        }
    }
}
