import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI

/// The registry side of token auth: every request must carry a bearer token from the
/// configured issuer that grants what the request needs; otherwise a 401 with the exact
/// `WWW-Authenticate` challenge Docker clients follow.
struct RegistryAuthorizer: RequestAuthorizer {
    let verifier: TokenVerifier
    /// The token endpoint; nil means "this server's own /auth/token".
    let realm: String?
    let service: String
    /// Distribution's `autoredirect`: the realm is `<X-Forwarded-Proto or https>://<Host>/auth/token`.
    var autoRedirect = false

    func authorize(_ request: Request, _ context: BerthRequestContext, required: [ResourceScope], realmBase: String) async -> AuthorizationOutcome {
        var realmBase = realmBase
        if autoRedirect {
            let proto = request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "http" ? "http" : "https"
            let host = request.head.authority.flatMap { RegistryAPI.isSafeHost($0) ? $0 : nil } ?? "localhost"
            realmBase = "\(proto)://\(host)"
        }
        guard let header = request.headers[.authorization], header.count > 7,
              header.prefix(7).lowercased() == "bearer " else {
            return .challenge(challenge(required, realmBase: realmBase, error: nil, message: "authentication required"))
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let claims: TokenClaims
        do {
            claims = try await verifier.verify(token)
        } catch {
            return .challenge(challenge(required, realmBase: realmBase, error: "invalid_token", message: error.description))
        }
        for scope in required {
            for action in scope.actions where !claims.grants(type: scope.type, name: scope.name, action: action) {
                return .challenge(challenge(required, realmBase: realmBase, error: "insufficient_scope",
                                            message: "insufficient scope: \(scope.type):\(scope.name):\(action)"))
            }
        }
        let pullable = claims.access.filter { $0.type == "repository" && ($0.actions.contains("pull") || $0.actions.contains("*")) }
        return .allowed(subject: claims.sub, pulls: .repositories(pullable.map(\.name)))
    }

    func challenge(_ required: [ResourceScope], realmBase: String, error: String?, message: String) -> Response {
        var value = "Bearer realm=\(quote(realm ?? realmBase + "/auth/token")),service=\(quote(service))"
        if !required.isEmpty {
            value += ",scope=\(quote(required.map { "\($0.type):\($0.name):\($0.actions.joined(separator: ","))" }.joined(separator: " ")))"
        }
        if let error { value += ",error=\(quote(error))" }
        let detail = "[" + required.flatMap { scope in
            scope.actions.map { action in
                #"{"Type":"\#(JSONString.escape(scope.type))","Class":"","Name":"\#(JSONString.escape(scope.name))","Action":"\#(JSONString.escape(action))"}"#
            }
        }.joined(separator: ",") + "]"
        var response = RegistryError(.unauthorized, message: message, detailJSON: detail).response
        response.headers[.wwwAuthenticate] = value
        return response
    }

    private func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
