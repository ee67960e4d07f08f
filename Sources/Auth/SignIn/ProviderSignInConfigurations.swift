import Foundation
import Yams

/// docker_auth's `gitlab_auth` and `google_auth`: both providers speak OpenID Connect, so
/// Berth signs in with them as with `oidc_auth` (state, nonce, PKCE, the id_token verified
/// against their keys), from their own keys. GitLab's `groups` claim becomes a label (which
/// docker_auth's gitlab_auth never gave); Google's `hd` must be `domain` when it is set.
public struct GitLabSignInConfiguration: Sendable, Decodable, Equatable {
    public var client_id: String
    public var client_secret: String?
    public var client_secret_file: String?
    /// Default https://gitlab.com; a self-managed GitLab: its address.
    public var gitlab_web_uri: String?
    /// docker_auth's; Berth reads who signed in from the id_token and userinfo instead.
    public var gitlab_api_uri: String?
    /// This server's `/gitlab_auth`, as registered with the GitLab application.
    public var redirect_uri: String
    /// docker_auth requires `authorization_code`.
    public var grant_type: String?
    public var http_timeout: String?
    public var revalidate_after: String?
    public var registry_url: String?
    public var create_accounts: Bool?
    public var name: String?
    public var password_lifetime: String?

    public static let knownKeys: Set<String> = [
        "client_id", "client_secret", "client_secret_file", "gitlab_web_uri", "gitlab_api_uri", "redirect_uri", "grant_type",
        "http_timeout", "revalidate_after", "registry_url", "create_accounts", "name", "password_lifetime",
        "level_token_db", "gcs_token_db", "redis_token_db",
    ]

    /// The same sign-in as an `oidc_auth` section would describe.
    public func oidc() throws -> OIDCSignInConfiguration {
        if let grant_type, grant_type != "authorization_code" {
            throw AuthError.configuration("gitlab_auth.grant_type: only authorization_code is supported")
        }
        var config = OIDCSignInConfiguration(issuer: gitlab_web_uri ?? "https://gitlab.com", redirect_url: redirect_uri,
                                             client_id: client_id, client_secret: client_secret)
        config.client_secret_file = client_secret_file
        config.user_claim = "preferred_username"
        config.labels_claims = ["groups"]
        config.scopes = ["openid", "profile", "email"]
        config.http_timeout = http_timeout
        config.revalidate_after = revalidate_after
        config.registry_url = registry_url
        config.create_accounts = create_accounts
        config.name = name ?? (gitlab_web_uri == nil ? "GitLab" : nil)
        config.password_lifetime = password_lifetime
        return try config.validated()
    }
}

public struct GoogleSignInConfiguration: Sendable, Decodable, Equatable {
    /// A Google Workspace domain: only its people sign in (the id_token's `hd`).
    public var domain: String?
    public var client_id: String
    public var client_secret: String?
    public var client_secret_file: String?
    /// This server's `/google_auth`, as registered with Google (docker_auth signs in with
    /// Google's JavaScript button instead; Berth runs the code flow and needs it).
    public var redirect_url: String?
    public var http_timeout: String?
    public var revalidate_after: String?
    public var registry_url: String?
    public var create_accounts: Bool?
    public var name: String?
    public var password_lifetime: String?

    public static let knownKeys: Set<String> = [
        "domain", "client_id", "client_secret", "client_secret_file", "redirect_url", "http_timeout", "revalidate_after",
        "registry_url", "create_accounts", "name", "password_lifetime", "level_token_db", "gcs_token_db", "redis_token_db",
    ]

    public static let issuer = "https://accounts.google.com"

    public func oidc() throws -> OIDCSignInConfiguration {
        guard let redirect_url else {
            throw AuthError.configuration("google_auth.redirect_url is required by Berth: this server's /google_auth as registered with Google (e.g. https://registry.example.com/google_auth)")
        }
        var config = OIDCSignInConfiguration(issuer: Self.issuer, redirect_url: redirect_url, client_id: client_id, client_secret: client_secret)
        config.client_secret_file = client_secret_file
        config.http_timeout = http_timeout
        config.revalidate_after = revalidate_after
        config.registry_url = registry_url
        config.create_accounts = create_accounts
        config.name = name ?? "Google"
        config.password_lifetime = password_lifetime
        return try config.validated()
    }

    /// What the id_token must carry.
    public var required: [String: String] { domain.map { ["hd": $0] } ?? [:] }
}

extension Decodable {
    /// A section of Berth's config.yml given on its own: unknown keys are errors.
    public static func parseSection(yaml: String, key: String, known: Set<String>) throws -> Self {
        if let item = try? Yams.load(yaml: yaml) as? [String: Any],
           let unknown = item.keys.sorted().first(where: { !known.contains($0) }) {
            throw AuthError.configuration("\(key).\(unknown): not one of its keys (\(known.sorted().joined(separator: ", ")))")
        }
        do {
            return try YAMLDecoder().decode(Self.self, from: yaml)
        } catch let error as DecodingError {
            throw AuthError.configuration("\(key): \(AuthConfiguration.describe(error))")
        }
    }
}
