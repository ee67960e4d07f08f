import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import Logging
import NIOEmbedded
import OCI
@testable import Server
import Testing

/// Every `Authenticator`, through the same behaviours: a request without its kind of
/// credentials is none of its business (nil, the next one is asked), right ones prove the
/// account, wrong ones are a failure the door answers with its challenge, never anonymous.
@Suite struct AuthenticatorSuite {
    struct Subject: CustomTestStringConvertible, Sendable {
        var testDescription: String
        var authenticator: any Authenticator
        var right: String
        var wrong: String
        var foreign: String
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
        func basic(_ user: String, _ password: String) -> String { "Basic " + Data("\(user):\(password)".utf8).base64EncodedString() }
        return [
            Subject(testDescription: "bearer token", authenticator: BearerTokenAuthenticator(verifier: verifier),
                    right: "Bearer \(token)", wrong: "Bearer \(forged)", foreign: basic("alice", "secret-1")),
            Subject(testDescription: "password (identity backends)", authenticator: PasswordAuthenticator(passwords: BackendPasswords(backends: [users])),
                    right: basic("alice", "secret-1"), wrong: basic("alice", "nope"), foreign: "Bearer \(token)"),
            Subject(testDescription: "password (token service)",
                    authenticator: PasswordAuthenticator(passwords: TokenServicePasswords(service: service, serviceName: "registry")),
                    right: basic("alice", "secret-1"), wrong: basic("alice", "nope"), foreign: "Bearer \(token)"),
        ]
    }

    func request(_ authorization: String?) -> Request {
        var head = HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/v2/")
        if let authorization { head.headerFields[.authorization] = authorization }
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
        let basic = "Basic " + Data("alice:secret-1".utf8).base64EncodedString()
        do {
            _ = try await authenticator.authenticate(request(basic), context: context)
            Issue.record("a misconfigured backend proved a caller")
        } catch let error as AuthError {
            guard case .unavailable(let message) = error else { Issue.record("expected unavailable, got \(error)"); return }
            #expect(message.contains("/nowhere"))
        }
    }

    func challenge(_ body: () async throws -> Void) async -> AuthenticationChallenge? {
        do { try await body(); return nil } catch let challenge as AuthenticationChallenge { return challenge } catch { return nil }
    }
}
