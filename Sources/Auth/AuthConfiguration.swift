import Foundation
import Yams

/// A cesanta/docker_auth `auth_config.yml` (the keys Berth implements), also accepted as
/// the `auth` section's token-server part of Berth's own configuration.
public struct AuthConfiguration: Sendable, Decodable {
    public struct Server: Sendable, Decodable {
        public var addr: String?
        public var certificate: String?
        public var key: String?
        public var path_prefix: String?
        public var real_ip_header: String?
        public var real_ip_pos: Int?
    }

    public struct Token: Sendable, Decodable {
        public var issuer: String
        public var expiration: Int
        public var certificate: String?
        public var key: String?
    }

    public struct User: Sendable, Decodable {
        public var password: String?
        public var labels: [String: [String]]?

        public init(password: String? = nil, labels: [String: [String]]? = nil) {
            self.password = password
            self.labels = labels
        }
    }

    /// docker_auth's `ext_auth` / `ext_authz`: a program asked per request. `timeout` (a
    /// Go duration, default 10s) is Berth's: a program that hangs is an error, not a grant.
    public struct ExternalProgram: Sendable, Decodable {
        public var command: String
        public var args: [String]?
        public var timeout: String?
    }

    public var server: Server?
    public var token: Token
    public var users: [String: User]?
    public var acl: [ACLRule]?
    public var ext_auth: ExternalProgram?
    public var ext_authz: ExternalProgram?
    public var ldap_auth: LDAPConfiguration?
    /// Berth's keyless CI: issuers whose OIDC tokens log in (see `WorkloadIssuer`).
    public var workload_auth: [WorkloadIssuer]?
    public var oidc_auth: OIDCSignInConfiguration?
    public var github_auth: GitHubSignInConfiguration?
    public var gitlab_auth: GitLabSignInConfiguration?
    public var google_auth: GoogleSignInConfiguration?

    /// docker_auth keys this parser reads; anything else in a file is reported, not ignored.
    static let knownKeys: [String: Set<String>] = [
        "server": ["addr", "certificate", "key", "path_prefix", "real_ip_header", "real_ip_pos"],
        "token": ["issuer", "expiration", "certificate", "key"],
        "users": [], "acl": [],
        "ext_auth": ["command", "args", "timeout"], "ext_authz": ["command", "args", "timeout"],
        "ldap_auth": LDAPConfiguration.knownKeys,
        "workload_auth": [],
        "oidc_auth": OIDCSignInConfiguration.knownKeys,
        "github_auth": GitHubSignInConfiguration.knownKeys,
        "gitlab_auth": GitLabSignInConfiguration.knownKeys,
        "google_auth": GoogleSignInConfiguration.knownKeys,
    ]

    /// Keys of a docker_auth document that Berth does not implement (e.g. `mongo_auth`, or
    /// `server.letsencrypt`): users of those backends would silently fail to log in.
    public static func unsupportedKeys(yaml: String) -> [String] {
        guard let document = try? Yams.load(yaml: yaml) as? [String: Any] else { return [] }
        var unknown: [String] = []
        for (key, value) in document {
            guard let known = knownKeys[key] else { unknown.append(key); continue }
            if key == "workload_auth", let issuers = value as? [[String: Any]] {
                for (index, issuer) in issuers.enumerated() {
                    unknown += issuer.keys.filter { !WorkloadIssuer.knownKeys.contains($0) }.map { "workload_auth[\(index)].\($0)" }
                }
            }
            if !known.isEmpty, let section = value as? [String: Any] {
                unknown += section.keys.filter { !known.contains($0) }.map { "\(key).\($0)" }
            }
        }
        return unknown.sorted()
    }

    public static func parse(yaml: String) throws -> AuthConfiguration {
        let config: AuthConfiguration
        do {
            config = try YAMLDecoder().decode(AuthConfiguration.self, from: yaml)
        } catch let error as DecodingError {
            throw AuthError.configuration("auth configuration: \(Self.describe(error))")
        }
        guard !config.token.issuer.isEmpty else { throw AuthError.configuration("token.issuer is required") }
        guard config.token.expiration > 0 else { throw AuthError.configuration("token.expiration must be positive") }
        guard config.users != nil || config.ext_auth != nil || config.ldap_auth != nil || config.workload_auth != nil || config.oidc_auth != nil || config.github_auth != nil
                || config.gitlab_auth != nil || config.google_auth != nil else {
            throw AuthError.configuration("no auth methods are configured: add users")
        }
        guard config.acl != nil || config.ext_authz != nil else { throw AuthError.configuration("ACL is empty: add acl rules") }
        _ = try ACL(config.acl ?? [])
        for issuer in config.workload_auth ?? [] { _ = try issuer.validated() }
        _ = try config.oidc_auth?.validated()
        _ = try config.github_auth?.validated()
        _ = try config.gitlab_auth?.oidc()
        _ = try config.google_auth?.oidc()
        return config
    }

    /// Only the `users` and `acl` of a docker_auth file (for importing them), without the
    /// checks a running token server needs.
    public static func accounts(yaml: String) throws -> (users: [String: User], acl: [ACLRule]) {
        struct Accounts: Decodable {
            var users: [String: User]?
            var acl: [ACLRule]?
        }
        do {
            let accounts = try YAMLDecoder().decode(Accounts.self, from: yaml)
            return (accounts.users ?? [:], accounts.acl ?? [])
        } catch let error as DecodingError {
            throw AuthError.configuration("auth configuration: \(Self.describe(error))")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let c): "\((c.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")) is required"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        @unknown default: "invalid document"
        }
    }
}
