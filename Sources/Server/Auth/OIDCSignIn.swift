import AsyncHTTPClient
import Auth
import Foundation
import NIOCore
import NIOFoundationCompat
import Synchronization

/// Sign-in at an OpenID Connect provider (docker_auth's `oidc_auth`): the authorization code
/// flow with `state`, `nonce` and PKCE (S256); the code exchanged with the client secret;
/// the id_token's signature checked against the provider's keys (cached, fetched again for
/// an unknown key id) with `iss`, `aud`, `exp` and `nonce`; userinfo asked for claims the
/// id_token lacks. A provider that cannot be reached is 503, never a refused sign-in.
final class OIDCSignIn: SignInProvider, Sendable {
    let configuration: OIDCSignInConfiguration
    let secret: String
    let keys: WorkloadIdentities
    let connection: ProviderConnection
    let passwordLifetime: Duration
    let revalidateAfter: Duration

    struct Endpoints: Decodable, Sendable {
        var issuer: String?
        var authorization_endpoint: String
        var token_endpoint: String
        var userinfo_endpoint: String?
        var token_endpoint_auth_methods_supported: [String]?
        var scopes_supported: [String]?
    }
    private let endpoints = Mutex<(Endpoints, ContinuousClock.Instant)?>(nil)

    struct Failure: Error, CustomStringConvertible { var description: String }

    let id: String
    let routePath: String
    /// Claims a person's token must carry with these values (google_auth's `hd`: the domain).
    let required: [String: String]

    /// `id` and `routePath` name docker_auth's section this is (`oidc`, `gitlab`, `google`).
    init(_ configuration: OIDCSignInConfiguration, id: String = "oidc", routePath: String = "/oidc_auth", required: [String: String] = [:],
         http: HTTPClient = HTTPKeySetSource.sharedClient) throws {
        self.id = id
        self.routePath = routePath
        self.required = required
        self.configuration = try configuration.validated()
        secret = try configuration.secret()
        connection = ProviderConnection(http: http, timeout: try configuration.timeout(), name: "the sign-in provider", bodyLimit: 1 << 20)
        passwordLifetime = try configuration.passwordLifetime()
        revalidateAfter = try configuration.revalidateAfter()
        keys = try WorkloadIdentities([WorkloadIssuer(issuer: configuration.issuer, audience: configuration.client_id)],
                                      source: HTTPKeySetSource(http: http))
    }

    var displayName: String { configuration.displayName }
    var callbackPath: String { configuration.redirectPath }
    var registryURL: String? { configuration.registry_url }
    var createsAccounts: Bool { configuration.createsAccounts }

    /// The discovery document, kept for an hour.
    func discovered() async throws -> Endpoints {
        if let (cached, at) = endpoints.withLock({ $0 }), ContinuousClock.now - at < .seconds(3600) { return cached }
        let base = WorkloadIdentities.normalized(configuration.issuer)
        let found: Endpoints
        do {
            found = try JSONDecoder().decode(Endpoints.self, from: try await get(base + "/.well-known/openid-configuration"))
        } catch {
            throw AuthError.unavailable("the sign-in provider \(configuration.issuer) cannot be asked: \(error)")
        }
        guard WorkloadIdentities.normalized(found.issuer ?? "") == base else {
            throw AuthError.unavailable("the discovery document of \(configuration.issuer) names another issuer")
        }
        for endpoint in [found.authorization_endpoint, found.token_endpoint] + (found.userinfo_endpoint.map { [$0] } ?? []) {
            guard Self.acceptable(endpoint) else { throw AuthError.unavailable("the provider names an endpoint that is not https: \(endpoint)") }
        }
        endpoints.withLock { $0 = (found, .now) }
        return found
    }

    static func acceptable(_ endpoint: String) -> Bool {
        guard let url = URL(string: endpoint), let host = url.host else { return false }
        return url.scheme == "https" || (url.scheme == "http" && WorkloadIssuer.isLoopbackHost(host))
    }

    /// The configured scopes, and `offline_access` where the provider offers it: revalidation
    /// needs a refresh token, which many providers give only for that scope.
    func scopes(_ endpoints: Endpoints) -> [String] {
        var scopes = configuration.requestedScopes
        if endpoints.scopes_supported?.contains("offline_access") == true, !scopes.contains("offline_access") { scopes.append("offline_access") }
        return scopes
    }

    func authorizationURL(for flow: SignInFlow) async throws -> String {
        let endpoints = try await discovered()
        var components = URLComponents(string: endpoints.authorization_endpoint)!
        components.queryItems = (components.queryItems ?? []) + [
            URLQueryItem(name: "response_type", value: "code"),
            URLQueryItem(name: "client_id", value: configuration.client_id),
            URLQueryItem(name: "redirect_uri", value: configuration.redirect_url),
            URLQueryItem(name: "scope", value: scopes(endpoints).joined(separator: " ")),
            URLQueryItem(name: "state", value: flow.state),
            URLQueryItem(name: "nonce", value: flow.nonce),
            URLQueryItem(name: "code_challenge", value: flow.challenge),
            URLQueryItem(name: "code_challenge_method", value: "S256"),
        ]
        // `+` in a query is a space to many servers; URLComponents leaves it alone.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return components.string!
    }

    func finish(code: String, flow: SignInFlow) async throws -> SignInResult {
        let (status, answer) = try await tokenRequest([("grant_type", "authorization_code"), ("code", code),
                                                       ("redirect_uri", configuration.redirect_url), ("code_verifier", flow.verifier)])
        guard status == 200, let idToken = answer?.id_token else {
            if (400..<500).contains(status) {
                // The provider refused the code (used twice, expired, wrong verifier).
                throw AuthError.unauthorized("the provider refused the sign-in: \(answer?.error ?? "status \(status)") \(answer?.error_description ?? "")")
            }
            throw AuthError.unavailable("the provider's token endpoint answered \(status)")
        }
        let claims = try await keys.verifiedClaims(idToken)
        guard let nonce = claims["nonce"] as? String, ConstantTime.equal(nonce, flow.nonce) else {
            throw AuthError.unauthorized("the id_token was not issued for this sign-in (nonce)")
        }
        let person = try await person(claims, accessToken: answer?.access_token)
        return SignInResult(person: person, refreshToken: answer?.refresh_token)
    }

    /// The refresh token grant (docker_auth's revalidation): refused with `invalid_grant` when
    /// the provider no longer accepts the person; then userinfo must still name the same
    /// account, and gives the labels as they are now.
    func revalidate(_ account: String, refreshToken: String) async throws -> Revalidation {
        let (status, answer) = try await tokenRequest([("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
        guard status == 200, let access = answer?.access_token else {
            // Only the provider saying the grant is no longer good refuses the person; anything
            // else (a rotated client secret, an outage) is this side's problem: asked again later.
            if status == 400 || status == 401, answer?.error == "invalid_grant" {
                return .refused("the provider refused the refresh token (invalid_grant)")
            }
            throw AuthError.unavailable("the provider's token endpoint answered \(status) \(answer?.error ?? "")")
        }
        var claims: [String: Any] = [:]
        if let idToken = answer?.id_token {
            claims = try await keys.verifiedClaims(idToken)
        }
        // The refresh itself says the provider still accepts them; claims, when it gives
        // them, say who they are now.
        let hasUserinfo = try await discovered().userinfo_endpoint != nil
        guard !claims.isEmpty || hasUserinfo else {
            return .accepted(refreshToken: answer?.refresh_token, person: nil)
        }
        let person: FederatedIdentity
        do {
            person = try await self.person(claims, accessToken: access)
        } catch AuthError.unauthorized(let why) {
            return .refused(why)
        }
        guard person.account == account else { return .refused("the provider now names this person \(person.account)") }
        return .accepted(refreshToken: answer?.refresh_token, person: person)
    }

    private struct TokenAnswer: Decodable {
        var id_token: String?
        var access_token: String?
        var refresh_token: String?
        var error: String?
        var error_description: String?
    }

    private func tokenRequest(_ fields: [(String, String)]) async throws -> (Int, TokenAnswer?) {
        let endpoints = try await discovered()
        var form = fields
        var request = HTTPClientRequest(url: endpoints.token_endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        // client_secret_basic unless the provider takes only client_secret_post.
        let methods = endpoints.token_endpoint_auth_methods_supported ?? ["client_secret_basic"]
        if methods.contains("client_secret_basic") || !methods.contains("client_secret_post") {
            let user = Self.formEncode(configuration.client_id), password = Self.formEncode(secret)
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        } else {
            form += [("client_id", configuration.client_id), ("client_secret", secret)]
        }
        request.body = .bytes(ByteBuffer(string: form.map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")))
        let (status, body) = try await connection.send(request)
        return (status, try? JSONDecoder().decode(TokenAnswer.self, from: body))
    }

    /// The person verified claims (and userinfo, for those they lack) name.
    private func person(_ verified: [String: Any], accessToken: String?) async throws -> FederatedIdentity {
        var claims = verified
        let endpoints = try await discovered()
        // Claims the id_token lacks (many providers put groups or email in userinfo only).
        let wanted = [configuration.userClaim] + configuration.labelClaims
        if claims.isEmpty || wanted.contains(where: { claims[$0] == nil }), let userinfo = endpoints.userinfo_endpoint, let access = accessToken {
            var info = HTTPClientRequest(url: userinfo)
            info.headers.add(name: "Authorization", value: "Bearer " + access)
            info.headers.add(name: "Accept", value: "application/json")
            let (status, body) = try await connection.send(info)
            if status == 401 || status == 403 { throw AuthError.unauthorized("the provider's userinfo refused the access token") }
            if status == 200, let extra = try JSONSerialization.jsonObject(with: body) as? [String: Any] {
                // userinfo's sub must be the id_token's (OpenID Connect Core 5.3.2).
                if let sub = claims["sub"] as? String, extra["sub"] as? String != sub {
                    throw AuthError.unauthorized("the provider's userinfo is about someone else")
                }
                for (key, value) in extra where claims[key] == nil { claims[key] = value }
            } else if status != 200 {
                throw AuthError.unavailable("the provider's userinfo answered \(status)")
            }
        }
        for (claim, value) in required.sorted(by: { $0.key < $1.key }) where WorkloadIdentities.values(claims, path: claim) != [value] {
            throw AuthError.unauthorized("the provider's \(claim) is not \(value)")
        }
        return try FederatedIdentity.from(claims: claims, userClaim: configuration.userClaim, labelClaims: configuration.labelClaims,
                                          provenance: "\(id) \(configuration.issuer)")
    }

    private func get(_ url: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let (status, body) = try await connection.send(request)
        guard status == 200 else { throw Failure(description: "GET \(url): \(status)") }
        return body
    }

    static func formEncode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? value
    }
}
