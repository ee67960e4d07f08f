import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI

/// HTTP Basic auth on every registry request (Distribution's `auth.htpasswd`): the
/// credentials are checked by the identity backends, the rights by the access policy.
struct BasicAuthorizer: RequestAuthorizer {
    let backends: [any IdentityBackend]
    let policy: PolicyChain
    let realm: String
    var limiter = FailedLoginLimiter()

    /// Berth's `readers`/`writers` lists as ordinary ACL rules: writers may push, delete and
    /// pull, readers pull; either may list the catalog; nil means every valid user.
    static func policy(readers: [String]?, writers: [String]?) throws -> ACL {
        func accounts(_ list: [String]?) -> [String] {
            guard let list, !list.contains("*") else { return ["*"] }
            // Listed names are literal accounts, never patterns.
            return list.map(Pattern.literal)
        }
        var rules: [ACLRule] = []
        for (list, actions) in [(writers, ["pull", "push", "delete"]), (readers, ["pull"])] {
            for account in accounts(list) {
                rules.append(ACLRule(match: .init(account: account, type: "registry", name: "catalog"), actions: ["*"]))
                rules.append(ACLRule(match: .init(account: account, type: "repository"), actions: actions))
            }
        }
        return try ACL(rules, source: "htpasswd")
    }

    func authorize(_ request: Request, _ context: BerthRequestContext, required: [ResourceScope], realmBase: String) async -> AuthorizationOutcome {
        guard let given = TokenEndpoint.basicCredentials(request.headers[.authorization]), !given.user.isEmpty else {
            return .challenge(challenge("authentication required"))
        }
        let address = context.clientAddress
        let identity: Identity
        do {
            guard let found = try await authenticate(user: given.user, password: given.password, address: address) else {
                return .challenge(challenge("authentication failed"))
            }
            identity = found
            for scope in required {
                let granted = try await policy.grantedActions(AccessRequest(
                    identity: identity, type: scope.type, name: scope.name,
                    service: realm, ip: address, actions: scope.actions))
                if !Set(scope.actions).isSubset(of: granted) {
                    return .challenge(RegistryError(.denied).response)
                }
            }
        } catch AuthError.tooManyRequests(let seconds) {
            return .challenge(RegistryError.throttled(retryAfter: seconds))
        } catch let error as AuthError where error.isRefusal {
            return .challenge(challenge("authentication failed"))
        } catch {
            context.logger.error("authentication backend failed", metadata: ["error": .string("\(error)")])
            return .challenge(RegistryError(.unavailable, message: "authentication backend unavailable").response)
        }
        let policy = self.policy, realm = self.realm
        return .allowed(subject: identity.account, pulls: .decidedBy { repository in
            let granted = try? await policy.grantedActions(AccessRequest(
                identity: identity, type: "repository", name: repository,
                service: realm, ip: address, actions: ["pull"]))
            return granted?.contains("pull") == true
        })
    }

    /// One password check through the failed-login limiter, for Basic auth and the web UI's
    /// sign-in alike; nil when no backend knows the user.
    func authenticate(user: String, password: String, address: IPAddress?) async throws -> Identity? {
        let user = AccountName.canonical(user)
        guard AccountName.isAcceptable(user) else { throw AuthError.unauthorized("invalid credentials") }
        let backends = self.backends
        return try await limiter.attempt(account: user, address: address, password: password) {
            try await backends.authenticate(user: user, password: password)
        }
    }

    private func challenge(_ message: String) -> Response {
        var response = RegistryError(.unauthorized, message: message).response
        response.headers[.wwwAuthenticate] = "Basic realm=\"\(realm.replacingOccurrences(of: "\"", with: ""))\""
        return response
    }
}
