import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI

/// Distribution's `auth.htpasswd`, plus who may read (GET/HEAD) and who may write
/// (push, delete), so "everyone pulls, only ci pushes" needs no proxy in front.
struct BasicAuthorizer: RequestAuthorizer {
    let users: StaticUsers
    let realm: String
    /// nil: every valid user.
    let readers: Set<String>?
    let writers: Set<String>?
    let limiter = FailedLoginLimiter()

    func authorize(_ request: Request, _ context: BerthRequestContext, required: [ResourceScope], realmBase: String) async -> AuthorizationOutcome {
        guard let credentials = TokenEndpoint.basicCredentials(request.headers[.authorization]), !credentials.user.isEmpty else {
            return .challenge(challenge("authentication required"))
        }
        let address = context.remoteAddress?.ipAddress.flatMap(IPAddress.init)
        let users = self.users
        do {
            guard try await limiter.attempt(account: credentials.user, address: address, {
                try await users.authenticate(user: credentials.user, password: credentials.password)
            }) != nil else {
                return .challenge(challenge("authentication failed"))
            }
        } catch AuthError.tooManyRequests {
            return .challenge(RegistryError(.tooManyRequests).response)
        } catch {
            return .challenge(challenge("authentication failed"))
        }
        let writes = required.contains { $0.actions.contains("push") || $0.actions.contains("delete") }
        let allowed = writes ? writers : readers
        if let allowed, !allowed.contains("*"), !allowed.contains(credentials.user) {
            return .challenge(RegistryError(.denied).response)
        }
        return .allowed(subject: credentials.user)
    }

    private func challenge(_ message: String) -> Response {
        var response = RegistryError(.unauthorized, message: message).response
        response.headers[.wwwAuthenticate] = "Basic realm=\"\(realm.replacingOccurrences(of: "\"", with: ""))\""
        return response
    }
}
