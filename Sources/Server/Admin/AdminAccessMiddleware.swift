import Auth
import HTTPTypes
import Hummingbird
import OCI

/// Only callers the access policy grants `registry:admin:*` reach the admin API: Basic
/// credentials checked by the identity backends (throttled like token requests), or a
/// bearer token from this token service that carries that grant.
struct AdminAccessMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    let service: TokenService
    let serviceName: String
    let verifier: TokenVerifier?

    static let scope = ResourceScope(type: "registry", name: "admin", actions: ["*"])

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // A browser holding Basic credentials can be made to send a cross-site form POST, but
        // not one with a JSON content type (that needs a CORS preflight Berth never grants).
        if [.post, .put, .patch].contains(request.method),
           request.headers[.contentType]?.lowercased().hasPrefix("application/json") != true {
            return RegistryError(.unsupported, message: "send Content-Type: application/json", status: 415).response
        }
        var context = context
        let address = context.clientAddress
        let header = request.headers[.authorization] ?? ""
        if header.count > 7, header.prefix(7).lowercased() == "bearer ", let verifier {
            guard let claims = try? await verifier.verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
                return challenge("invalid token")
            }
            guard claims.grants(type: "registry", name: "admin", action: "*") else { return RegistryError(.denied, message: "admin rights required").response }
            context.caller = claims.sub
            return try await next(request, context)
        }
        guard let credentials = TokenEndpoint.basicCredentials(request.headers[.authorization]), !credentials.user.isEmpty else {
            return challenge("authentication required")
        }
        let identity: Identity
        do {
            identity = try await service.authenticate(TokenRequest(service: serviceName, scopes: [], account: nil,
                                                                   credentials: credentials, clientIP: address))
        } catch AuthError.tooManyRequests(let seconds) {
            return RegistryError.throttled(retryAfter: seconds)
        } catch AuthError.unavailable {
            return RegistryError(.unavailable, message: "authentication backend unavailable, try again later").response
        } catch {
            return challenge("authentication failed")
        }
        let decision = try await service.policy.decide(AccessRequest(
            identity: identity, type: "registry", name: "admin", service: serviceName,
            ip: address, actions: ["*"]))
        guard decision?.actions.contains("*") == true else {
            return RegistryError(.denied, message: "admin rights (registry:admin:*) required").response
        }
        context.caller = identity.account
        return try await next(request, context)
    }

    private func challenge(_ message: String) -> Response {
        var response = RegistryError(.unauthorized, message: message).response
        response.headers[.wwwAuthenticate] = "Basic realm=\"Berth admin\""
        return response
    }
}
