import OCI
import Foundation
import Yams

/// docker_auth's `github_auth`: people sign in with GitHub (or GitHub Enterprise); a member of
/// `organization` only, when it is set; the organization's teams they are in become the label
/// `teams`. GitHub is OAuth 2.0, not OpenID Connect: who signed in comes from its REST API.
/// Berth adds `redirect_url`, `create_accounts`, `name` and `password_lifetime`.
public struct GitHubSignInConfiguration: Sendable, Decodable, Equatable {
    public var organization: String?
    public var client_id: String
    public var client_secret: String?
    public var client_secret_file: String?
    /// Go duration, default 10s.
    public var http_timeout: String?
    /// How often GitHub is asked again whether the person's token, membership and teams hold
    /// (default 1h).
    public var revalidate_after: String?
    /// Default https://github.com; GitHub Enterprise: https://HOST.
    public var github_web_uri: String?
    /// Default https://api.github.com; GitHub Enterprise: https://HOST/api/v3.
    public var github_api_uri: String?
    public var registry_url: String?
    /// The OAuth app's callback URL (this server's `/github_auth`); sent as `redirect_uri`
    /// when set, else GitHub uses the one the app registered.
    public var redirect_url: String?
    public var create_accounts: Bool?
    public var name: String?
    public var password_lifetime: String?

    public init(organization: String?, client_id: String, client_secret: String?) {
        self.organization = organization
        self.client_id = client_id
        self.client_secret = client_secret
    }

    public static let knownKeys: Set<String> = [
        "organization", "client_id", "client_secret", "client_secret_file", "http_timeout", "revalidate_after", "github_web_uri",
        "github_api_uri", "registry_url", "redirect_url", "create_accounts", "name", "password_lifetime",
        "level_token_db", "gcs_token_db", "redis_token_db",
    ]

    public var webURI: String { WorkloadIdentities.normalized(github_web_uri ?? "https://github.com") }
    public var apiURI: String { WorkloadIdentities.normalized(github_api_uri ?? "https://api.github.com") }
    public var displayName: String { name ?? (github_web_uri == nil ? "GitHub" : URL(string: webURI)?.host ?? "GitHub") }
    public var createsAccounts: Bool { create_accounts ?? true }
    public var callbackPath: String { redirect_url.flatMap { URL(string: $0)?.path } ?? "/github_auth" }

    public func timeout() throws -> Duration { try GoDuration.parse(http_timeout, key: "github_auth.http_timeout", default: .seconds(10)) }
    public func revalidateAfter() throws -> Duration {
        try OIDCSignInConfiguration.duration(revalidate_after, key: "github_auth.revalidate_after", default: .seconds(3600))
    }
    public func passwordLifetime() throws -> Duration {
        try OIDCSignInConfiguration.duration(password_lifetime, key: "github_auth.password_lifetime", default: .seconds(12 * 3600))
    }

    public func secret() throws -> String {
        if let file = client_secret_file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw AuthError.configuration("github_auth.client_secret_file: cannot read \(file)")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let client_secret, !client_secret.isEmpty else {
            throw AuthError.configuration("github_auth needs client_secret or client_secret_file")
        }
        return client_secret
    }

    public func validated() throws -> GitHubSignInConfiguration {
        for (key, value) in [("github_web_uri", webURI), ("github_api_uri", apiURI)] {
            guard let url = URL(string: value), let host = url.host,
                  url.scheme == "https" || (url.scheme == "http" && WorkloadIssuer.isLoopbackHost(host)) else {
                throw AuthError.configuration("github_auth.\(key) must be an https URL (plain http only on loopback, for tests): \(value)")
            }
        }
        guard !client_id.isEmpty else { throw AuthError.configuration("github_auth.client_id is empty") }
        if let redirect_url {
            guard let url = URL(string: redirect_url), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw AuthError.configuration("github_auth.redirect_url: \(redirect_url.prefix(128)) is not a URL of this server")
            }
        }
        _ = try secret()
        _ = try timeout()
        _ = try revalidateAfter()
        _ = try passwordLifetime()
        return self
    }

    /// `auth.token.github_auth` of Berth's config.yml, given on its own: unknown keys are errors.
    public static func parse(yaml: String, key: String) throws -> GitHubSignInConfiguration {
        if let item = try? Yams.load(yaml: yaml) as? [String: Any],
           let unknown = item.keys.sorted().first(where: { !knownKeys.contains($0) }) {
            throw AuthError.configuration("\(key).\(unknown): not a key of github_auth (\(knownKeys.sorted().joined(separator: ", ")))")
        }
        do {
            return try YAMLDecoder().decode(GitHubSignInConfiguration.self, from: yaml).validated()
        } catch let error as DecodingError {
            throw AuthError.configuration("\(key): \(AuthConfiguration.describe(error))")
        }
    }
}
