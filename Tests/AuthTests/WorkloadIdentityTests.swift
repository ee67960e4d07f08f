@testable import Auth
import Crypto
import Foundation
import Synchronization
import Testing
import _CryptoExtras

/// Keyless CI against a test issuer whose keys this test makes (a fixed key set: the HTTP
/// source is exercised end to end in Tests/e2e/workload.sh): what a valid token proves,
/// and each token that must be refused.
@Suite struct WorkloadIdentityTests {
    static let issuerURL = "https://token.ci.example"
    static let issuer = WorkloadIssuer(issuer: issuerURL, audience: "https://registry.example",
                                       labels: ["repository": "repository", "namespace": "kubernetes.io.namespace", "groups": "groups"],
                                       max_age: "10m")

    final class Keys: KeySetSource, Sendable {
        let signing = Mutex<[String: P256.Signing.PrivateKey]>(["k1": P256.Signing.PrivateKey()])
        let fetches = Atomic<Int>(0)
        let down = Atomic<Bool>(false)

        func keySet(issuer: String, jwksURI: String?) async throws -> String {
            fetches.add(1, ordering: .relaxed)
            if down.load(ordering: .relaxed) { throw URLError(.cannotConnectToHost) }
            let keys = signing.withLock { $0 }.map { kid, key -> String in
                let raw = key.publicKey.rawRepresentation
                return #"{"kty":"EC","crv":"P-256","use":"sig","alg":"ES256","kid":"\#(kid)","x":"\#(Base64URL.encode(raw.prefix(32)))","y":"\#(Base64URL.encode(raw.suffix(32)))"}"#
            }
            // An HMAC key in the set is never used.
            return #"{"keys":[\#(keys.joined(separator: ",")),{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}]}"#
        }

        func token(_ claims: [String: Any], kid: String = "k1", alg: String = "ES256") throws -> String {
            let header = Base64URL.encode(try JSONSerialization.data(withJSONObject: ["alg": alg, "kid": kid, "typ": "JWT"]))
            let payload = Base64URL.encode(try JSONSerialization.data(withJSONObject: claims))
            let input = Array("\(header).\(payload)".utf8)
            let key = signing.withLock { $0[kid] } ?? P256.Signing.PrivateKey()
            return "\(header).\(payload).\(Base64URL.encode(try key.signature(for: input).rawRepresentation))"
        }
    }

    static func claims(_ changes: [String: Any] = [:]) -> [String: Any] {
        let now = Date().timeIntervalSince1970
        var claims: [String: Any] = [
            "iss": issuerURL, "aud": ["https://registry.example", "other"], "sub": "repo:team/app:ref:refs/heads/main",
            "exp": now + 300, "iat": now - 5, "nbf": now - 5, "repository": "team/app",
            "kubernetes.io": ["namespace": "build", "serviceaccount": ["name": "ci"]], "groups": ["dev", "ops"],
        ]
        for (key, value) in changes { claims[key] = value }
        return claims
    }

    @Test func aValidTokenIsItsSubjectWithLabelsFromItsClaims() async throws {
        let keys = Keys()
        let backend = try WorkloadIdentities([Self.issuer], source: keys)
        let identity = try #require(try await backend.authenticate(user: "anything", password: try keys.token(Self.claims())))
        #expect(identity.account == "repo:team/app:ref:refs/heads/main")
        #expect(identity.labels == ["repository": ["team/app"], "namespace": ["build"], "groups": ["dev", "ops"]])
        // The key set is fetched once, not per login.
        _ = try await backend.authenticate(user: "anything", password: try keys.token(Self.claims()))
        #expect(keys.fetches.load(ordering: .relaxed) == 1)
    }

    @Test func passwordsAndOtherIssuersTokensAreNotItsOwn() async throws {
        let keys = Keys()
        let backend = try WorkloadIdentities([Self.issuer], source: keys)
        #expect(try await backend.authenticate(user: "ci", password: "correct horse") == nil)
        #expect(try await backend.authenticate(user: "ci", password: "a.b.c") == nil)
        #expect(try await backend.authenticate(user: "ci", password: try keys.token(Self.claims(["iss": "https://elsewhere"]))) == nil)
        #expect(keys.fetches.load(ordering: .relaxed) == 0, "nothing fetched for a password")
    }

    @Test func everyTokenThatMustBeRefusedIs() async throws {
        let keys = Keys()
        let backend = try WorkloadIdentities([Self.issuer], source: keys)
        let now = Date().timeIntervalSince1970
        let refused: [(String, String)] = [
            ("expired", try keys.token(Self.claims(["exp": now - 120]))),
            ("not yet valid", try keys.token(Self.claims(["nbf": now + 600]))),
            ("wrong audience", try keys.token(Self.claims(["aud": "https://other.example"]))),
            ("older than max_age", try keys.token(Self.claims(["iat": now - 3600]))),
            ("no subject", try keys.token(Self.claims(["sub": ""]))),
            ("unknown key", try keys.token(Self.claims(), kid: "k9")),
            ("alg none", try {
                let t = try keys.token(Self.claims(), alg: "none").split(separator: ".")
                return "\(t[0]).\(t[1])."
            }()),
            ("HMAC", try keys.token(Self.claims(), kid: "hmac", alg: "HS256")),
            ("tampered", try {
                let t = try keys.token(Self.claims()).split(separator: ".").map(String.init)
                let forged = Base64URL.encode(try JSONSerialization.data(withJSONObject: Self.claims(["repository": "ops/secret"])))
                return "\(t[0]).\(forged).\(t[2])"
            }()),
        ]
        for (name, token) in refused {
            await #expect(throws: AuthError.self, "\(name)") { try await backend.authenticate(user: "ci", password: token) }
            do { _ = try await backend.authenticate(user: "ci", password: token) } catch let error as AuthError {
                #expect(error.isRefusal, "\(name): \(error)")
            }
        }
    }

    @Test func aRotatedKeyIsFetchedAndAnIssuerDownIsUnavailable() async throws {
        let keys = Keys()
        let backend = try WorkloadIdentities([Self.issuer], source: keys, refetchInterval: .zero)
        _ = try await backend.authenticate(user: "ci", password: try keys.token(Self.claims()))
        keys.signing.withLock { $0["k2"] = P256.Signing.PrivateKey() }
        #expect(try await backend.authenticate(user: "ci", password: try keys.token(Self.claims(), kid: "k2")) != nil)
        #expect(keys.fetches.load(ordering: .relaxed) == 2)
        // Within the interval, a made-up key id fetches nothing.
        let limited = try WorkloadIdentities([Self.issuer], source: keys)
        _ = try await limited.authenticate(user: "ci", password: try keys.token(Self.claims()))
        for kid in ["x1", "x2", "x3"] {
            await #expect(throws: AuthError.self) { try await limited.authenticate(user: "ci", password: try keys.token(Self.claims(), kid: kid)) }
        }
        #expect(keys.fetches.load(ordering: .relaxed) == 3)

        let fresh = try WorkloadIdentities([Self.issuer], source: keys)
        keys.down.store(true, ordering: .relaxed)
        await #expect(throws: AuthError.unavailable("")) {
            do { _ = try await fresh.authenticate(user: "ci", password: try keys.token(Self.claims())) } catch AuthError.unavailable { throw AuthError.unavailable("") }
        }
    }

    /// A token seen before skips its signature check, never its time limits.
    @Test func aRepeatedTokenIsStillRefusedOnceExpired() async throws {
        let keys = Keys()
        let now = Mutex(Date())
        let backend = try WorkloadIdentities([Self.issuer], source: keys, clock: { now.withLock { $0 } })
        let token = try keys.token(Self.claims(["exp": Date().timeIntervalSince1970 + 120]))
        #expect(try await backend.authenticate(user: "ci", password: token) != nil)
        #expect(try await backend.authenticate(user: "ci", password: token) != nil)
        now.withLock { $0 = $0.addingTimeInterval(600) }
        await #expect(throws: AuthError.unauthorized("workload token expired")) { try await backend.authenticate(user: "ci", password: token) }
    }

    /// A shared issuer admits only the tokens whose claims an admin required; a token's name
    /// can never be a local account's; a claim value that would act as a pattern is no label.
    @Test func requiredClaimsNamesAndLabelsThatCannotWidenARule() async throws {
        let keys = Keys()
        var issuer = Self.issuer
        issuer.require = ["repository_owner": "team"]
        issuer.account_claim = "actor"
        issuer.labels = ["repository": "repository", "workflow": "workflow"]
        let backend = try WorkloadIdentities([issuer], source: keys)
        let mine = try #require(try await backend.authenticate(user: "ci", password: try keys.token(Self.claims([
            "repository_owner": "team", "actor": "admin", "workflow": "build *", "repository": "team/app"]))))
        #expect(mine.account == "token.ci.example:admin", "no local account can have a ':'")
        #expect(mine.labels == ["repository": ["team/app"]], "the workflow's '*' would have acted as a glob")
        await #expect(throws: AuthError.unauthorized("workload token's repository_owner is not team")) {
            try await backend.authenticate(user: "ci", password: try keys.token(Self.claims(["repository_owner": "evil", "actor": "x"])))
        }
    }

    /// docker login asks for a refresh token; a CI job's token (minutes long) never becomes
    /// one (nor, in the web UI, a session): the client keeps sending the token itself.
    @Test func aWorkloadLoginGetsNoRefreshToken() async throws {
        let keys = Keys()
        let service = TokenService(issuer: try await TokenIssuer(issuer: "t", expiration: 60, signingKey: try SigningKey.generate()),
                                   backends: [try WorkloadIdentities([Self.issuer], source: keys)], policies: [])
        let response = try await service.issueToken(TokenRequest(service: "s", scopes: [], account: nil,
                                                                 credentials: ("ci", try keys.token(Self.claims())), clientIP: nil,
                                                                 wantsRefreshToken: true))
        #expect(response.refresh_token == nil && !response.token.isEmpty)
    }

    @Test func issuersAreCheckedAtStart() {
        #expect(throws: AuthError.self) { try WorkloadIdentities([WorkloadIssuer(issuer: "http://ci.example", audience: "a")], source: Keys()) }
        #expect(throws: AuthError.self) { try WorkloadIdentities([WorkloadIssuer(issuer: "https://ci.example", audience: "")], source: Keys()) }
        #expect(throws: AuthError.self) { try WorkloadIdentities([Self.issuer, Self.issuer], source: Keys()) }
        #expect(throws: Never.self) { try WorkloadIdentities([WorkloadIssuer(issuer: "http://127.0.0.1:8080", audience: "a")], source: Keys()) }
    }

    @Test func anAuthConfigNamesItsIssuersAndItsMistakes() throws {
        let yaml = """
            token: {issuer: test, expiration: 900}
            acl: [{match: {name: "${labels:repository}/*"}, actions: ["pull", "push"]}]
            workload_auth:
              - issuer: https://token.actions.githubusercontent.com
                audience: https://registry.example
                labels: {repository: repository}
                audiance: typo
            """
        let config = try AuthConfiguration.parse(yaml: yaml)
        #expect(config.workload_auth?.first?.issuer == "https://token.actions.githubusercontent.com")
        #expect(AuthConfiguration.unsupportedKeys(yaml: yaml) == ["workload_auth[0].audiance"])
    }
}
