import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI

/// How a door asks for credentials: Docker's Bearer token flow, or HTTP Basic.
protocol DoorChallenge: Sendable {
    /// No credentials, or refused ones.
    func unauthenticated(_ request: Request, required: [ResourceScope], realmBase: String, failure: AuthenticationFailure?) -> AuthenticationChallenge
    /// Authenticated, without a right the request needs.
    func denied(_ request: Request, required: [ResourceScope], realmBase: String, refused: (scope: ResourceScope, action: String)) -> AuthenticationChallenge
}

/// A front door: its authenticators say who calls, its gate what they may do, its challenge
/// how it asks for more.
package struct Door: Sendable {
    let authenticators: [any Authenticator]
    let gate: AccessGate
    let challenge: any DoorChallenge

    /// The caller, once granted all of `required`; throws the door's challenge otherwise.
    func admit(_ request: Request, _ context: BerthRequestContext, required: [ResourceScope], realmBase: String) async throws -> Caller {
        let caller: Caller
        do {
            guard let found = try await authenticators.caller(of: request, context: context) else {
                throw challenge.unauthenticated(request, required: required, realmBase: realmBase, failure: nil)
            }
            caller = found
        } catch let failure as AuthenticationFailure {
            throw challenge.unauthenticated(request, required: required, realmBase: realmBase, failure: failure)
        }
        if let refused = try await gate.refused(caller, required, address: context.clientAddress) {
            throw challenge.denied(request, required: required, realmBase: realmBase, refused: refused)
        }
        return caller
    }
}

/// Distribution's token auth challenge: `Bearer realm=…,service=…,scope=…[,error=…]`, the
/// exact form Docker clients follow to the token endpoint.
struct BearerChallenge: DoorChallenge {
    /// The token endpoint; nil means "this server's own /auth/token".
    let realm: String?
    let service: String
    /// Distribution's `autoredirect`: the realm is `<X-Forwarded-Proto or https>://<Host>/auth/token`.
    var autoRedirect = false

    func unauthenticated(_ request: Request, required: [ResourceScope], realmBase: String, failure: AuthenticationFailure?) -> AuthenticationChallenge {
        make(request, required, realmBase, error: failure.map { $0.invalidToken ? "invalid_token" : "unauthorized" },
             message: failure?.message ?? "authentication required")
    }

    func denied(_ request: Request, required: [ResourceScope], realmBase: String, refused: (scope: ResourceScope, action: String)) -> AuthenticationChallenge {
        make(request, required, realmBase, error: "insufficient_scope",
             message: "insufficient scope: \(refused.scope.type):\(refused.scope.name):\(refused.action)")
    }

    private func make(_ request: Request, _ required: [ResourceScope], _ realmBase: String, error: String?, message: String) -> AuthenticationChallenge {
        var realmBase = realmBase
        if autoRedirect {
            let proto = request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "http" ? "http" : "https"
            let host = request.head.authority.flatMap { RegistryAPI.isSafeHost($0) ? $0 : nil } ?? "localhost"
            realmBase = "\(proto)://\(host)"
        }
        var value = "Bearer realm=\(Self.quote(realm ?? realmBase + "/auth/token")),service=\(Self.quote(service))"
        if !required.isEmpty {
            value += ",scope=\(Self.quote(required.map { "\($0.type):\($0.name):\($0.actions.joined(separator: ","))" }.joined(separator: " ")))"
        }
        if let error { value += ",error=\(Self.quote(error))" }
        let detail = "[" + required.flatMap { scope in
            scope.actions.map { action in
                #"{"Type":"\#(JSONString.escape(scope.type))","Class":"","Name":"\#(JSONString.escape(scope.name))","Action":"\#(JSONString.escape(action))"}"#
            }
        }.joined(separator: ",") + "]"
        return AuthenticationChallenge(error: RegistryError(.unauthorized, message: message, detailJSON: detail), wwwAuthenticate: value)
    }

    private static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// HTTP Basic (Distribution's `auth.htpasswd`, the admin API): a 401 asks for a password,
/// a missing right is a 403.
struct BasicChallenge: DoorChallenge {
    let realm: String
    var deniedMessage: String?

    func unauthenticated(_ request: Request, required: [ResourceScope], realmBase: String, failure: AuthenticationFailure?) -> AuthenticationChallenge {
        AuthenticationChallenge(error: RegistryError(.unauthorized, message: failure?.message ?? "authentication required"),
                                wwwAuthenticate: "Basic realm=\"\(realm.replacingOccurrences(of: "\"", with: ""))\"")
    }

    func denied(_ request: Request, required: [ResourceScope], realmBase: String, refused: (scope: ResourceScope, action: String)) -> AuthenticationChallenge {
        AuthenticationChallenge(error: deniedMessage.map { RegistryError(.denied, message: $0) } ?? RegistryError(.denied), wwwAuthenticate: nil)
    }
}

extension Door {
    /// The registry's door under token auth: registry tokens, verified by `verifier`, grant
    /// what they name; without one, a Bearer challenge sends the client to the token server
    /// at `realm` (nil: this server's own, `autoRedirect`: the host the client used).
    package static func registryTokens(verifier: TokenVerifier, service: String, realm: String?, autoRedirect: Bool) -> Door {
        Door(authenticators: [BearerTokenAuthenticator(verifier: verifier)], gate: AccessGate(policy: nil, service: service),
             challenge: BearerChallenge(realm: realm, service: service, autoRedirect: autoRedirect))
    }
}
