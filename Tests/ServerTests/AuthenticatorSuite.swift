import Auth
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import Logging
import NIOEmbedded
import OCI
import Storage
@testable import Server
import Testing

/// Every `Authenticator`, through the same behaviours: a request without its kind of
/// credentials is none of its business (nil, the next one is asked), right ones prove the
/// account, wrong ones are a failure the door answers with its challenge, never anonymous.
@Suite struct AuthenticatorSuite {
    struct Subject: CustomTestStringConvertible, Sendable {
        var testDescription: String
        var authenticator: any Authenticator
        var right: Credentials
        var wrong: Credentials
        var foreign: Credentials
    }

    /// What a request carries: an Authorization header, or a cookie.
    struct Credentials: Sendable {
        var field: HTTPField.Name
        var value: String
    }

    static let key = try! SigningKey.generate()

    static func subjects() async throws -> [Subject] {
        let users = StaticUsers(["alice": .init(password: Bcrypt.hash("secret-1", cost: 4), labels: ["team": ["a"]])])
        let issuer = try await TokenIssuer(issuer: "Berth", expiration: 300, signingKey: key)
        let token = try await issuer.issue(subject: "alice", audience: "registry", access: []).token
        let otherIssuer = try await TokenIssuer(issuer: "Berth", expiration: 300, signingKey: try SigningKey.generate())
        let forged = try await otherIssuer.issue(subject: "alice", audience: "registry", access: []).token
        let verifier = try await TokenVerifier(issuer: "Berth", service: "registry", roots: key.certificates)
        let service = TokenService(issuer: issuer, backends: [users], policies: [])
        func basic(_ user: String, _ password: String) -> Credentials {
            Credentials(field: .authorization, value: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        }
        func bearer(_ token: String) -> Credentials { Credentials(field: .authorization, value: "Bearer \(token)") }
        func cookie(_ value: String) -> Credentials { Credentials(field: .cookie, value: "\(WebSession.cookieName)=\(value)") }
        let htpasswd = HtpasswdAccounts(passwords: BackendPasswords(backends: [users]), policy: PolicyChain([]), realm: "R")
        let access = WebUIAccess(accounts: HtpasswdWebAccounts(accounts: htpasswd, sessions: StorageRefreshTokenStore(driver: InMemoryDriver())))
        let signer = WebSessionSigner(key: SymmetricKey(size: .bits256))
        let session = try await access.startSession(Identity(account: "alice", labels: [:]))
        let signedOut = try await access.startSession(Identity(account: "alice", labels: [:]))
        try await access.endSession(signedOut)
        return [
            Subject(testDescription: "bearer token", authenticator: BearerTokenAuthenticator(verifier: verifier),
                    right: bearer(token), wrong: bearer(forged), foreign: basic("alice", "secret-1")),
            Subject(testDescription: "password (identity backends)", authenticator: PasswordAuthenticator(passwords: BackendPasswords(backends: [users])),
                    right: basic("alice", "secret-1"), wrong: basic("alice", "nope"), foreign: bearer(token)),
            Subject(testDescription: "password (token service)",
                    authenticator: PasswordAuthenticator(passwords: TokenServicePasswords(service: service, serviceName: "registry")),
                    right: basic("alice", "secret-1"), wrong: basic("alice", "nope"), foreign: bearer(token)),
            // A signed-out session's cookie is still signed by this server: its record decides.
            Subject(testDescription: "web session", authenticator: SessionAuthenticator(signer: signer, access: access),
                    right: cookie(signer.encode(session)), wrong: cookie(signer.encode(signedOut)), foreign: basic("alice", "secret-1")),
        ]
    }

    func request(_ credentials: Credentials?) -> Request {
        var head = HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/v2/")
        if let credentials { head.headerFields[credentials.field] = credentials.value }
        return Request(head: head, body: .init(buffer: ByteBuffer()))
    }

    var context: BerthRequestContext {
        var logger = Logger(label: "test")
        logger[metadataKey: "hb.request.id"] = "test"
        return BerthRequestContext(source: ApplicationRequestContextSource(channel: EmbeddedChannel(), logger: logger))
    }

    @Test func everyAuthenticatorKeepsToItsOwnCredentials() async throws {
        for subject in try await Self.subjects() {
            let authenticator = subject.authenticator
            #expect(try await authenticator.authenticate(request(nil), context: context) == nil, "\(subject.testDescription): none")
            #expect(try await authenticator.authenticate(request(subject.foreign), context: context) == nil, "\(subject.testDescription): another kind")
            #expect(try await authenticator.authenticate(request(subject.right), context: context)?.account == "alice", "\(subject.testDescription): right")
            await #expect(throws: AuthenticationFailure.self, "\(subject.testDescription): wrong") {
                _ = try await authenticator.authenticate(request(subject.wrong), context: context)
            }
        }
    }

    /// A token grants what it names; a password-proven caller what the policy decides. The
    /// Bearer door asks for a better token (401), the Basic door refuses (403).
    @Test func doorsChallengeOrRefuse() async throws {
        let subjects = try await Self.subjects()
        let policy = try ACL([ACLRule(match: .init(account: "alice", type: "repository", name: "a/*"), actions: ["pull"])], source: "test")
        let pull = ResourceScope(type: "repository", name: "a/app", actions: ["pull"])
        let push = ResourceScope(type: "repository", name: "a/app", actions: ["push"])

        let basicDoor = Door(authenticators: [subjects[1].authenticator], gate: AccessGate(policy: PolicyChain([policy]), service: "registry"),
                             challenge: BasicChallenge(realm: "R"))
        #expect(try await basicDoor.admit(request(subjects[1].right), context, required: [pull], realmBase: "").account == "alice")
        let denied = await challenge { _ = try await basicDoor.admit(self.request(subjects[1].right), self.context, required: [push], realmBase: "") }
        #expect(denied?.error.httpStatus == 403 && denied?.wwwAuthenticate == nil)
        let anonymous = await challenge { _ = try await basicDoor.admit(self.request(nil), self.context, required: [pull], realmBase: "") }
        #expect(anonymous?.error.httpStatus == 401 && anonymous?.wwwAuthenticate == #"Basic realm="R""#)

        let bearerDoor = Door(authenticators: [subjects[0].authenticator], gate: AccessGate(policy: nil, service: "registry"),
                              challenge: BearerChallenge(realm: "https://auth.example/token", service: "registry"))
        // The token names no access: even a pull asks for a better one.
        let scope = await challenge { _ = try await bearerDoor.admit(self.request(subjects[0].right), self.context, required: [pull], realmBase: "") }
        #expect(scope?.error.httpStatus == 401)
        #expect(scope?.wwwAuthenticate == #"Bearer realm="https://auth.example/token",service="registry",scope="repository:a/app:pull",error="insufficient_scope""#)
        let forged = await challenge { _ = try await bearerDoor.admit(self.request(subjects[0].wrong), self.context, required: [pull], realmBase: "") }
        #expect(forged?.wwwAuthenticate?.hasSuffix(#"error="invalid_token""#) == true)
    }

    /// A backend that cannot answer is not a wrong password: the door's caller gets 503 and
    /// the log an error, never a 401 that sends a person to retype a right password.
    @Test func aBrokenBackendIsUnavailableNotARefusal() async throws {
        struct Misconfigured: IdentityBackend {
            func authenticate(user: String, password: String) async throws -> Identity? {
                throw AuthError.configuration("external program /nowhere not found or not executable")
            }
            func lookup(user: String) async throws -> Identity? { nil }
        }
        let authenticator = PasswordAuthenticator(passwords: BackendPasswords(backends: [Misconfigured()]))
        let basic = Credentials(field: .authorization, value: "Basic " + Data("alice:secret-1".utf8).base64EncodedString())
        do {
            _ = try await authenticator.authenticate(request(basic), context: context)
            Issue.record("a misconfigured backend proved a caller")
        } catch let error as AuthError {
            guard case .unavailable(let message) = error else { Issue.record("expected unavailable, got \(error)"); return }
            #expect(message.contains("/nowhere"))
        }
    }

    /// A grant type is one entry in the token endpoint's table: its conformer proves the
    /// caller, the endpoint issues what the policy allows that caller (no more).
    @Test func aGrantTypeIsOneEntryInTheTokenEndpointsTable() async throws {
        struct TestGrant: TokenGrant {
            func caller(_ request: TokenRequest, parameters: (String) -> String?, service: TokenService) async throws -> GrantedCaller {
                guard parameters("assertion") == "ok" else { throw AuthError.unauthorized("bad assertion") }
                return GrantedCaller(identity: Identity(account: "alice", labels: [:]), mayRefresh: false)
            }
        }
        let policy = try ACL([ACLRule(match: .init(account: "alice", type: "repository", name: "a/*"), actions: ["pull"])], source: "test")
        let issuer = try await TokenIssuer(issuer: "Berth", expiration: 300, signingKey: Self.key)
        var endpoint = TokenEndpoint(service: TokenService(issuer: issuer, backends: [], policies: [policy]))
        endpoint.grants["urn:test"] = TestGrant()
        func ask(_ query: String) async throws -> Response {
            let head = HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/auth/token?service=registry&" + query)
            return try await endpoint.respond(Request(head: head, body: .init(buffer: ByteBuffer())), context: context)
        }
        /// What clients get: a refusal as `ErrorMiddleware` writes it.
        func written(_ query: String) async -> Response {
            do { return try await ask(query) } catch { return ErrorMiddleware(metrics: nil).response(for: error, context: context) }
        }
        let answer = try await ask("grant_type=urn:test&assertion=ok&scope=repository:a/app:pull,push&offline_token=true")
        #expect(answer.status == .ok)
        let collected = BodyCollector()
        try await answer.body.write(collected)
        struct Body: Decodable { var token: String; var refresh_token: String? }
        let decoded = try JSONDecoder().decode(Body.self, from: Data(String(buffer: collected.buffer).utf8))
        #expect(decoded.refresh_token == nil)
        let verifier = try await TokenVerifier(issuer: "Berth", service: "registry", roots: Self.key.certificates)
        let claims = try await verifier.verify(decoded.token)
        #expect(claims.sub == "alice")
        #expect(claims.grants(type: "repository", name: "a/app", action: "pull"))
        #expect(!claims.grants(type: "repository", name: "a/app", action: "push"))
        let refused = await written("grant_type=urn:test&assertion=no")
        #expect(refused.status == .unauthorized)
        #expect(refused.headers[.wwwAuthenticate] == #"Basic realm="Berth""#)
        #expect(await written("grant_type=urn:other").status == .badRequest)
    }

    func challenge(_ body: () async throws -> Void) async -> AuthenticationChallenge? {
        do { try await body(); return nil } catch let challenge as AuthenticationChallenge { return challenge } catch { return nil }
    }
}

/// A response body, gathered.
final class BodyCollector: ResponseBodyWriter {
    var buffer = ByteBuffer()
    func write(_ chunk: ByteBuffer) async throws { buffer.writeImmutableBuffer(chunk) }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
