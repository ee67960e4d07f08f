import Auth
import Foundation

/// A way for a person to sign in through someone else (an OpenID Connect provider, GitHub…):
/// where to send the browser, and who came back. The web UI lists every configured one on
/// its sign-in page and runs the rest (the flow's cookie, the account, the session or the
/// docker password) the same way for all.
protocol SignInProvider: Sendable {
    /// Short and URL-safe: `oidc`, `github`.
    var id: String { get }
    /// On the sign-in button.
    var displayName: String { get }
    /// docker_auth's route for it (`/oidc_auth`), where the result page offers a docker
    /// password, and the provider's redirect comes back to.
    var routePath: String { get }
    /// Where the provider sends the browser back, if not `routePath`.
    var callbackPath: String { get }
    /// The registry address the result page's login lines name, when configured.
    var registryURL: String? { get }
    /// How long the result page's docker password works.
    var passwordLifetime: Duration { get }
    /// Whether a person it vouches for gets an account on first sign-in.
    var createsAccounts: Bool { get }
    /// The provider's page to send the browser to for `flow`.
    func authorizationURL(for flow: SignInFlow) async throws -> String
    /// How often a person who signed in is checked with the provider again.
    var revalidateAfter: Duration { get }
    /// The provider's answer (the query of its redirect back) turned into a person, or a
    /// refusal (`AuthError.unauthorized`), or `AuthError.unavailable` when it cannot be asked.
    func finish(code: String, flow: SignInFlow) async throws -> SignInResult
    /// Whether the provider still accepts the person whose refresh token this is; throws
    /// `AuthError.unavailable` when it cannot tell now (never a refusal).
    func revalidate(_ account: String, refreshToken: String) async throws -> Revalidation
}

struct SignInResult: Sendable {
    var person: FederatedIdentity
    /// What revalidation asks the provider with, when it gave one.
    var refreshToken: String?
}

enum Revalidation: Sendable, Equatable {
    /// Still accepted; the provider may have rotated the refresh token, and may say what the
    /// person's labels are now.
    case accepted(refreshToken: String?, person: FederatedIdentity?)
    case refused(String)
}
