import AsyncHTTPClient
import Auth
import Foundation
import NIOCore
import NIOFoundationCompat

/// Sign-in with GitHub (docker_auth's `github_auth`), an OAuth 2.0 web flow with `state` and
/// PKCE (S256): the code exchanged for a token, then the REST API says who it is (`/user`),
/// whether they are in `organization` (`/orgs/ORG/members/LOGIN`: 204, anything else is
/// no), and their teams there (`/user/teams`, paged), which become the label `teams` (each
/// team's slug and its parent's). Revalidation asks the same questions with the same token:
/// a revoked token (401), a person no longer in the organization, signs them out.
final class GitHubSignIn: SignInProvider, Sendable {
    let configuration: GitHubSignInConfiguration
    let secret: String
    let connection: ProviderConnection
    let passwordLifetime: Duration
    let revalidateAfter: Duration

    init(_ configuration: GitHubSignInConfiguration, http: HTTPClient = HTTPKeySetSource.sharedClient) throws {
        self.configuration = try configuration.validated()
        secret = try configuration.secret()
        connection = ProviderConnection(http: http, timeout: try configuration.timeout(), name: "GitHub", bodyLimit: 4 << 20)
        passwordLifetime = try configuration.passwordLifetime()
        revalidateAfter = try configuration.revalidateAfter()
    }

    var id: String { "github" }
    var displayName: String { configuration.displayName }
    var routePath: String { "/github_auth" }
    var callbackPath: String { configuration.callbackPath }
    var registryURL: String? { configuration.registry_url }
    var createsAccounts: Bool { configuration.createsAccounts }

    func authorizationURL(for flow: SignInFlow) async throws -> String {
        var components = URLComponents(string: configuration.webURI + "/login/oauth/authorize")!
        var items = [
            URLQueryItem(name: "client_id", value: configuration.client_id),
            URLQueryItem(name: "scope", value: "read:org"),
            URLQueryItem(name: "state", value: flow.state),
            URLQueryItem(name: "code_challenge", value: flow.challenge),
            URLQueryItem(name: "code_challenge_method", value: "S256"),
        ]
        if let redirect = configuration.redirect_url { items.append(URLQueryItem(name: "redirect_uri", value: redirect)) }
        components.queryItems = items
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return components.string!
    }

    private struct TokenAnswer: Decodable {
        var access_token: String?
        var error: String?
        var error_description: String?
    }

    func finish(code: String, flow: SignInFlow) async throws -> SignInResult {
        var fields = [("client_id", configuration.client_id), ("client_secret", secret), ("code", code), ("code_verifier", flow.verifier)]
        if let redirect = configuration.redirect_url { fields.append(("redirect_uri", redirect)) }
        var request = HTTPClientRequest(url: configuration.webURI + "/login/oauth/access_token")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        // Without it GitHub answers form-encoded.
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: fields.map { "\($0.0)=\(OIDCSignIn.formEncode($0.1))" }.joined(separator: "&")))
        let (status, body) = try await connection.send(request)
        // GitHub answers 200 with an `error` field for a refused code.
        let answer = try? JSONDecoder().decode(TokenAnswer.self, from: body)
        guard status == 200, let answer else { throw AuthError.unavailable("GitHub's token endpoint answered \(status)") }
        guard let token = answer.access_token, !token.isEmpty else {
            if answer.error == "incorrect_client_credentials" || answer.error == "redirect_uri_mismatch" {
                throw AuthError.unavailable("GitHub refuses this registry's OAuth app (\(answer.error!)): check github_auth's client_id, client_secret and redirect_url")
            }
            throw AuthError.unauthorized("GitHub refused the sign-in: \(answer.error ?? "no token") \(answer.error_description ?? "")")
        }
        return SignInResult(person: try await person(token), refreshToken: token)
    }

    func revalidate(_ account: String, refreshToken token: String) async throws -> Revalidation {
        let person: FederatedIdentity
        do {
            person = try await self.person(token)
        } catch AuthError.unauthorized(let why) {
            return .refused(why)
        }
        guard person.account == account else { return .refused("the GitHub token now belongs to \(person.account)") }
        return .accepted(refreshToken: nil, person: person)
    }

    private struct User: Decodable { var login: String; var id: Int64? }
    private struct Team: Decodable {
        struct Organization: Decodable { var login: String }
        struct Parent: Decodable { var slug: String }
        var slug: String
        var organization: Organization
        var parent: Parent?
    }

    /// Who the token is, whether they belong, their teams.
    func person(_ token: String) async throws -> FederatedIdentity {
        let (status, body) = try await api("/user", token)
        if status == 401 { throw AuthError.unauthorized("GitHub no longer accepts the token") }
        guard status == 200, let user = try? JSONDecoder().decode(User.self, from: body) else {
            throw AuthError.unavailable("GitHub's /user answered \(status)")
        }
        var teams: [String] = []
        if let organization = configuration.organization {
            let (membership, _) = try await api("/orgs/\(Self.segment(organization))/members/\(Self.segment(user.login))", token)
            switch membership {
            case 204: break
            case 302, 404: throw AuthError.unauthorized("\(user.login) is not a member of \(organization)")
            case 401: throw AuthError.unauthorized("GitHub no longer accepts the token")
            default: throw AuthError.unavailable("GitHub's membership check answered \(membership)")
            }
        }
        var page = 1
        while page <= 10 {
            let (status, body) = try await api("/user/teams?per_page=100&page=\(page)", token)
            guard status == 200, let list = try? JSONDecoder().decode([Team].self, from: body) else {
                if status == 401 { throw AuthError.unauthorized("GitHub no longer accepts the token") }
                throw AuthError.unavailable("GitHub's /user/teams answered \(status)")
            }
            for team in list {
                if let organization = configuration.organization {
                    // The organization's own teams, by slug (docker_auth's labels).
                    guard team.organization.login.lowercased() == organization.lowercased() else { continue }
                    teams.append(team.slug)
                    if let parent = team.parent { teams.append(parent.slug) }
                } else {
                    // Slugs are unique within an organization only, and anyone can make one:
                    // without `organization`, a team is named with its organization.
                    teams.append("\(team.organization.login)/\(team.slug)")
                    if let parent = team.parent { teams.append("\(team.organization.login)/\(parent.slug)") }
                }
            }
            guard list.count == 100 else { break }
            page += 1
        }
        let unique = Array(Set(teams)).sorted().filter { !$0.contains(where: WorkloadIdentities.patternCharacters.contains) }
        return FederatedIdentity(account: AccountName.canonical(user.login), labels: unique.isEmpty ? [:] : ["teams": unique],
                                 labelKeys: ["teams"], provenance: "github \(configuration.webURI)", subject: user.id.map(String.init))
    }

    private static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? text
    }

    private func api(_ path: String, _ token: String) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: configuration.apiURI + path)
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        request.headers.add(name: "Accept", value: "application/vnd.github+json")
        request.headers.add(name: "User-Agent", value: "Berth")
        return try await connection.send(request)
    }

}
