import Auth
import Hummingbird

enum AuthorizationOutcome {
    case allowed(subject: String, pulls: PullRights)
    case challenge(Response)
}

/// Which repositories, beyond the ones a request was checked for, its caller may pull: what
/// an automatic cross-repository mount (`mount=` without `from=`) may take a blob from, so
/// that knowing a digest never links in a blob of a repository the caller cannot read.
enum PullRights: Sendable {
    /// An open registry.
    case everything
    /// A bearer token's pull scopes: a token grants what it names and nothing else.
    case repositories([String])
    /// Basic auth: the access policy, asked per repository.
    case decidedBy(@Sendable (String) async -> Bool)
}

/// Decides whether a registry request may proceed: bearer tokens or htpasswd Basic auth.
protocol RequestAuthorizer: Sendable {
    func authorize(_ request: Request, _ context: BerthRequestContext, required: [ResourceScope], realmBase: String) async -> AuthorizationOutcome
}
