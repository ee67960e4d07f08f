import Auth
import Hummingbird

enum AuthorizationOutcome {
    case allowed(subject: String)
    case challenge(Response)
}

/// Decides whether a registry request may proceed: bearer tokens or htpasswd Basic auth.
protocol RequestAuthorizer: Sendable {
    func authorize(_ request: Request, _ context: BerthRequestContext, required: [ResourceScope], realmBase: String) async -> AuthorizationOutcome
}
