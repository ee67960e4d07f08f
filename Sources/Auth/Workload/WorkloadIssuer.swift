import OCI
import Foundation
import Yams

/// One trusted issuer of `workload_auth`: a CI system or cluster whose OIDC tokens log in
/// as the password of `docker login`, with no secret stored here.
public struct WorkloadIssuer: Sendable, Decodable, Equatable {
    /// The token's `iss`, exactly; its keys come from `<issuer>/.well-known/openid-configuration`.
    public var issuer: String
    /// A value the token's `aud` must contain.
    public var audience: String
    /// The claim that names the account (default `sub`; a dotted path for a nested claim).
    public var account_claim: String?
    /// Labels from claims: label name ← claim path (`repository: repository`, `namespace:
    /// kubernetes.io.namespace`). A list claim gives the label each of its values.
    public var labels: [String: String]?
    /// Refuse a token issued longer ago than this (`iat`), e.g. `10m`.
    public var max_age: String?
    /// The key set's address, when the issuer publishes no discovery document.
    public var jwks_uri: String?
    /// Claims a token must carry with exactly these values (`repository_owner: my-org`): an
    /// issuer such as GitHub's or gitlab.com signs tokens for everyone, with any audience a
    /// job asks for, so without this every repository on it could log in.
    public var require: [String: String]?

    public init(issuer: String, audience: String, account_claim: String? = nil, labels: [String: String]? = nil,
                max_age: String? = nil, jwks_uri: String? = nil, require: [String: String]? = nil) {
        self.require = require
        self.issuer = issuer
        self.audience = audience
        self.account_claim = account_claim
        self.labels = labels
        self.max_age = max_age
        self.jwks_uri = jwks_uri
    }

    static let knownKeys: Set<String> = ["issuer", "audience", "account_claim", "labels", "max_age", "jwks_uri", "require"]

    /// A `workload_auth` list given on its own (Berth's config.yml `auth.token.workload_auth`):
    /// unknown keys are errors here, as everywhere in that file.
    public static func parseList(yaml: String, key: String) throws -> [WorkloadIssuer] {
        if let items = try? Yams.load(yaml: yaml) as? [[String: Any]] {
            for (index, item) in items.enumerated() {
                if let unknown = item.keys.sorted().first(where: { !knownKeys.contains($0) }) {
                    throw AuthError.configuration("\(key)[\(index)].\(unknown): not a key of a workload issuer (\(knownKeys.sorted().joined(separator: ", ")))")
                }
            }
        }
        do {
            return try YAMLDecoder().decode([WorkloadIssuer].self, from: yaml).map { try $0.validated() }
        } catch let error as DecodingError {
            throw AuthError.configuration("\(key): \(AuthConfiguration.describe(error))")
        }
    }

    /// Checked at start: a mistake here would refuse every CI job, or trust too much.
    func validated() throws -> WorkloadIssuer {
        guard let url = URL(string: issuer), let scheme = url.scheme, url.host != nil else {
            throw AuthError.configuration("workload_auth: issuer \(issuer.prefix(128)) is not a URL")
        }
        guard scheme == "https" || (scheme == "http" && Self.isLoopbackHost(url.host!)) else {
            throw AuthError.configuration("workload_auth: issuer \(issuer.prefix(128)) must be https (plain http only on loopback)")
        }
        guard !audience.isEmpty else { throw AuthError.configuration("workload_auth: \(issuer): audience is required") }
        _ = try maxAge()
        return self
    }

    func maxAge() throws -> Duration? {
        guard let max_age else { return nil }
        return try GoDuration.parse(max_age, key: "workload_auth.max_age", default: .seconds(0))
    }

    public static func isLoopbackHost(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

/// Where an issuer's keys come from (the network: `Server` provides it; tests may give a
/// fixed set).
public protocol KeySetSource: Sendable {
    /// The issuer's JSON Web Key Set document: from `jwksURI` when given, else through the
    /// issuer's discovery document.
    func keySet(issuer: String, jwksURI: String?) async throws -> String
}
