import Auth
import OCI

/// What a caller may do, decided after authentication and in one place: a registry token
/// grants what it names; a caller proven by a password (or a web session) gets what the access policy decides.
struct AccessGate: Sendable {
    /// Asked for password-proven callers; nil where only tokens are accepted.
    let policy: PolicyChain?
    /// The service name access requests carry (ACL rules may match on it).
    let service: String

    /// The first requested scope and action not granted, or nil when all are.
    func refused(_ caller: Caller, _ required: [ResourceScope], address: IPAddress?) async throws -> (scope: ResourceScope, action: String)? {
        for scope in required {
            let granted = try await granted(caller, scope, address: address)
            if let action = scope.actions.first(where: { !granted.contains($0) && !granted.contains("*") }) { return (scope, action) }
        }
        return nil
    }

    /// The actions of `scope` the caller has.
    func granted(_ caller: Caller, _ scope: ResourceScope, address: IPAddress?) async throws -> [String] {
        switch caller.proof {
        case .registryToken(let claims):
            return scope.actions.filter { claims.grants(type: scope.type, name: scope.name, action: $0) }
        case .password, .session:
            guard let policy else { return [] }
            return try await policy.grantedActions(AccessRequest(identity: caller.identity, type: scope.type, name: scope.name,
                                                                 service: service, ip: address, actions: scope.actions))
        }
    }

    /// Which repositories, beyond those a request was checked for, the caller may pull.
    func pullRights(_ caller: Caller, address: IPAddress?) -> PullRights {
        switch caller.proof {
        case .registryToken(let claims):
            let pullable = claims.access.filter { $0.type == "repository" && ($0.actions.contains("pull") || $0.actions.contains("*")) }
            return .repositories(pullable.map(\.name))
        case .password, .session:
            let gate = self
            return .decidedBy { repository in
                let scope = ResourceScope(type: "repository", name: repository, actions: ["pull"])
                return (try? await gate.refused(caller, [scope], address: address)) == nil
            }
        }
    }
}

/// A request the door turned away for want of credentials or rights: a 401 with the door's
/// `WWW-Authenticate` challenge, or a 403. Thrown, and written by `ErrorMiddleware` alone.
struct AuthenticationChallenge: Error {
    var error: RegistryError
    var wwwAuthenticate: String?
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
