import Auth
import HTTPTypes
import Hummingbird
import OCI

/// Only callers granted `registry:admin:*` reach the admin API: Basic credentials checked by
/// the token service's login (throttled like token requests), or a bearer token from this
/// token service that carries that grant.
package struct AdminAccessMiddleware: RouterMiddleware {
    package typealias Context = BerthRequestContext
    let door: Door

    static let scope = ResourceScope(type: "registry", name: "admin", actions: ["*"])

    package init(service: TokenService, serviceName: String, verifier: TokenVerifier?) {
        var authenticators: [any Authenticator] = verifier.map { [BearerTokenAuthenticator(verifier: $0)] } ?? []
        authenticators.append(PasswordAuthenticator(passwords: TokenServicePasswords(service: service, serviceName: serviceName)))
        door = Door(authenticators: authenticators, gate: AccessGate(policy: service.policy, service: serviceName),
                    challenge: BasicChallenge(realm: "Berth admin", deniedMessage: "admin rights (registry:admin:*) required"))
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // A browser holding Basic credentials can be made to send a cross-site form POST, but
        // not one with a JSON content type (that needs a CORS preflight Berth never grants).
        if [.post, .put, .patch].contains(request.method),
           request.headers[.contentType]?.lowercased().hasPrefix("application/json") != true {
            return RegistryError(.unsupported, message: "send Content-Type: application/json", status: 415).response
        }
        var context = context
        context.caller = try await door.admit(request, context, required: [Self.scope], realmBase: "").account
        return try await next(request, context)
    }
}
