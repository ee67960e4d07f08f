import Auth
import Foundation

/// The sign-in providers a configuration names, in docker_auth's order (google, github, oidc,
/// gitlab): from an auth_config.yml's sections, or from `auth.token.*` of Berth's config.yml.
/// A new provider is one more conformer of `SignInProvider` and one more line here.
public enum SignInProviders {
    static func make(_ config: AuthConfiguration) throws -> [any SignInProvider] {
        try make(google: config.google_auth, github: config.github_auth, oidc: config.oidc_auth, gitlab: config.gitlab_auth)
    }

    /// Checks Berth's config.yml sections as `serve` reads them (for `check-config`).
    public static func validate(sections: [String: String]) throws { _ = try make(sections: sections) }

    /// Berth's config.yml: each section's YAML by its name.
    static func make(sections: [String: String]) throws -> [any SignInProvider] {
        func parse<T: Decodable>(_ name: String, _ known: Set<String>) throws -> T? {
            try sections[name].map { try T.parseSection(yaml: $0, key: "auth.token.\(name)", known: known) }
        }
        return try make(google: parse("google_auth", GoogleSignInConfiguration.knownKeys),
                        github: parse("github_auth", GitHubSignInConfiguration.knownKeys),
                        oidc: parse("oidc_auth", OIDCSignInConfiguration.knownKeys),
                        gitlab: parse("gitlab_auth", GitLabSignInConfiguration.knownKeys))
    }

    static func make(google: GoogleSignInConfiguration?, github: GitHubSignInConfiguration?, oidc: OIDCSignInConfiguration?,
                     gitlab: GitLabSignInConfiguration?) throws -> [any SignInProvider] {
        var providers: [any SignInProvider] = []
        if let google { providers.append(try OIDCSignIn(try google.oidc(), id: "google", routePath: "/google_auth", required: google.required)) }
        if let github { providers.append(try GitHubSignIn(github)) }
        if let oidc { providers.append(try OIDCSignIn(oidc)) }
        if let gitlab { providers.append(try OIDCSignIn(try gitlab.oidc(), id: "gitlab", routePath: "/gitlab_auth")) }
        return providers
    }
}
