import Accounts
import Auth
import Foundation
import Testing

/// One contract for every identity backend, as docker_auth's chain relies on it: the right
/// password gives the identity (with labels where the backend has them), a wrong one is
/// `.unauthorized` (stop, deny), an unknown account is nil (ask the next backend).
@Suite struct IdentityBackendSuite {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case staticUsers, htpasswd, externalProgram, sqlite, postgres, ldap
        var testDescription: String { rawValue }
    }

    static let hash = PasswordHash.make("ci-password", cost: 4)

    /// A backend knowing `ci` (password `ci-password`, label team=build where supported).
    static func withBackend(_ kind: Kind, _ body: (any IdentityBackend, _ labels: Bool) async throws -> Void) async throws {
        switch kind {
        case .ldap:
            guard let server = TestDirectory.server else { return }
            let configuration = server.configuration(labels: ["team": .init(attribute: "departmentNumber")])
            try await body(try LDAPAuthentication(configuration), true)
        case .staticUsers:
            try await body(StaticUsers(["ci": .init(password: hash, labels: ["team": ["build"]])]), true)
        case .htpasswd:
            try await body(StaticUsers(try Htpasswd.parse("ci:\(hash)\n")), false)
        case .externalProgram:
            let script = try ExternalScripts.write("""
                #!/bin/sh
                read -r user pass
                case "$user" in
                  ci) [ "$pass" = "ci-password" ] && { echo '{"labels": {"team": ["build"]}}'; exit 0; }; exit 1;;
                  *) exit 2;;
                esac
                """)
            defer { try? FileManager.default.removeItem(atPath: script) }
            try await body(ExternalAuthentication(try ExternalProgram(command: "/bin/sh", arguments: [script])), true)
        case .sqlite, .postgres:
            try await withStore(kind == .sqlite ? .sqlite : .postgres) { store, _ in
                try await store.addUser("ci", passwordHash: hash, labels: ["team": ["build"]], by: cli)
                try await body(try await AccountDirectory(store: store, logger: testLogger), true)
            }
        }
    }

    @Test(arguments: Kind.allCases)
    func rightWrongAndUnknown(_ kind: Kind) async throws {
        try await Self.withBackend(kind) { backend, labels in
            let identity = try await backend.authenticate(user: "ci", password: "ci-password")
            #expect(identity?.account == "ci")
            if labels { #expect(identity?.labels == ["team": ["build"]]) }
            await #expect(throws: AuthError.self) { try await backend.authenticate(user: "ci", password: "wrong") }
            do {
                _ = try await backend.authenticate(user: "ci", password: "wrong")
            } catch let error as AuthError {
                guard case .unauthorized = error else { Issue.record("a wrong password must be unauthorized, got \(error)"); return }
            }
            #expect(try await backend.authenticate(user: "stranger", password: "x") == nil)
        }
    }
}

/// Scripts are run through /bin/sh rather than executed: a file just written may still be
/// open in a process another test is forking (ETXTBSY).
enum ExternalScripts {
    static func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-ext-\(UUID().uuidString).sh").path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o700])
        return path
    }
}

@Suite struct ExternalProgramTests {
    /// An external program cannot be asked about an account without its password, so a
    /// refresh token of one of its accounts keeps the identity (labels) it was issued with;
    /// a backend that can be asked and does not know the account ends the token.
    @Test func refreshTokensOfAccountsNoBackendCanLookUpKeepTheirLabels() async throws {
        let script = try ExternalScripts.write("""
            #!/bin/sh
            read -r user pass
            [ "$user" = "ext" ] && [ "$pass" = "ext-password" ] && { echo '{"labels": {"team": ["build"]}}'; exit 0; }
            exit 2
            """)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let external = ExternalAuthentication(try ExternalProgram(command: "/bin/sh", arguments: [script]))
        let service = TokenService(issuer: try await TokenIssuer(issuer: "t", expiration: 60, signingKey: try SigningKey.generate()),
                                   backends: [external], policies: [try ACL([ACLRule(match: .init(name: "${labels:team}/*"), actions: ["pull"])])])
        let login = try await service.issueToken(TokenRequest(service: "s", scopes: [], account: nil, credentials: ("ext", "ext-password"),
                                                              clientIP: nil, wantsRefreshToken: true, clientID: "docker"))
        let refresh = try #require(login.refresh_token)
        // The refresh_token grant: the token redeemed, then what the policy allows its account.
        let exchange = TokenRequest(service: "s", scopes: ["repository:build/app:pull"], account: nil, credentials: nil, clientIP: nil,
                                    clientID: "docker")
        let again = try await service.issueToken(to: try await service.redeem(refresh), for: exchange,
                                                 scopes: try service.requestedScopes(exchange), mayRefresh: false)
        let claims = try JSONSerialization.jsonObject(with: Base64URL.decode(again.token.split(separator: ".")[1]) ?? Data()) as? [String: Any]
        let access = (claims?["access"] as? [[String: Any]])?.first
        #expect(access?["name"] as? String == "build/app")
        #expect(access?["actions"] as? [String] == ["pull"])

        // The same token on a service whose only backend answers lookups and does not know
        // the account: refused (and forgotten).
        let strict = TokenService(issuer: try await TokenIssuer(issuer: "t", expiration: 60, signingKey: try SigningKey.generate()),
                                  backends: [StaticUsers([:])], policies: [], refreshTokens: InMemoryRefreshTokenStore())
        await #expect(throws: AuthError.self) { try await strict.redeem(refresh) }
    }


    @Test func aProgramThatHangsCrashesOrSaysNonsenseIsAnErrorNotALogin() async throws {
        let script = try ExternalScripts.write("""
            #!/bin/sh
            read -r user pass
            case "$user" in
              hang) exec sleep 600;;
              crash) kill -9 $$;;
              nonsense) echo 'not json'; exit 0;;
              status) exit 7;;
            esac
            exit 2
            """)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let backend = ExternalAuthentication(try ExternalProgram(command: "/bin/sh", arguments: [script], timeout: .milliseconds(500)))
        for user in ["hang", "crash", "nonsense", "status"] {
            let started = ContinuousClock.now
            do {
                _ = try await backend.authenticate(user: user, password: "x")
                Issue.record("\(user): accepted")
            } catch let error as AuthError {
                guard case .unavailable = error else { Issue.record("\(user): \(error)"); continue }
            }
            // The hanging program sleeps 600 s; the bound leaves room for a loaded machine.
            #expect(ContinuousClock.now - started < TestTiming.bound(.seconds(15)), "\(user)")
        }
    }

    @Test func extAuthzGrantsAllOrNothingAndSeesTheRequest() async throws {
        let script = try ExternalScripts.write("""
            #!/bin/sh
            input=$(cat)
            case "$input" in *'"Account":"hang"'*) exec sleep 600;; esac
            case "$input" in *'"Account":"ci"'*) ;; *) exit 1;; esac
            case "$input" in *'"Name":"ci/app"'*) exit 0;; esac
            exit 1
            """)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let policy = ExternalAuthorization(try ExternalProgram(command: "/bin/sh", arguments: [script], timeout: .milliseconds(500)))
        func decide(_ account: String, _ name: String) async throws -> [String]? {
            try await policy.decide(AccessRequest(account: account, type: "repository", name: name, service: "s", actions: ["push", "pull"]))?.actions
        }
        #expect(try await decide("ci", "ci/app") == ["pull", "push"])
        #expect(try await decide("ci", "other") == [])
        await #expect(throws: AuthError.self) { try await decide("hang", "x") }
    }

    @Test func aMissingProgramIsAConfigurationError() {
        #expect(throws: AuthError.self) { try ExternalProgram(command: "/nonexistent/berth-ext-auth") }
    }
}
