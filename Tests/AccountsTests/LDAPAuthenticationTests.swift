import Auth
import Foundation
import Testing

/// docker_auth's `ldap_auth` against a real slapd (Tests/support/slapd.sh).
@Suite struct LDAPAuthenticationTests {
    static func expectUnavailable(_ body: () async throws -> Identity?, _ comment: Comment) async {
        do {
            let identity = try await body()
            Issue.record("expected a backend error, got \(String(describing: identity)): \(comment)")
        } catch let error as AuthError {
            guard case .unavailable = error else { Issue.record("expected .unavailable, got \(error): \(comment)"); return }
        } catch {
            Issue.record("expected AuthError.unavailable, got \(error): \(comment)")
        }
    }

    static func expectWrongPassword(_ body: () async throws -> Identity?) async {
        do {
            _ = try await body()
            Issue.record("a wrong password was accepted")
        } catch let error as AuthError {
            guard case .unauthorized = error else { Issue.record("expected .unauthorized, got \(error)"); return }
        } catch {
            Issue.record("expected AuthError.unauthorized, got \(error)")
        }
    }

    @Test func groupsBecomeLabelsThroughMemberOf() async throws {
        guard let server = TestDirectory.server else { return }
        let ldap = try LDAPAuthentication(server.configuration(labels: TestDirectory.groups))
        let alice = try await ldap.authenticate(user: "alice", password: "alice-password")
        #expect(alice?.labels["groups"]?.sorted() == ["admins", "developers"])
        #expect(alice?.labels["mail"] == ["alice@berth.test"])
        let carol = try await ldap.authenticate(user: "carol", password: "carol-password")
        #expect(carol?.labels["groups"] == [])
        // Without parse_cn the DN is the label value, as docker_auth gives it.
        let raw = try LDAPAuthentication(server.configuration(labels: ["groups": .init(attribute: "memberOf")]))
        #expect(try await raw.authenticate(user: "bob", password: "bob-password")?.labels["groups"]
                == ["cn=developers,ou=groups,dc=berth,dc=test"])
    }

    @Test func anEmptyPasswordIsNeverAnAnonymousBind() async throws {
        guard let server = TestDirectory.server else { return }
        let ldap = try LDAPAuthentication(server.configuration())
        // An LDAP simple bind with a DN and no password "succeeds" as anonymous (RFC 4513
        // 5.1.2); the backend must not be fooled by it.
        #expect(try await ldap.authenticate(user: "alice", password: "") == nil)
        #expect(try await ldap.authenticate(user: "", password: "x") == nil)
    }

    @Test func filterInjectionInTheAccountNameFindsNobody() async throws {
        guard let server = TestDirectory.server else { return }
        let ldap = try LDAPAuthentication(server.configuration())
        for attempt in ["*", "alice)(uid=*", "*)(|(uid=*", "al*", "alice\\2a", "alice\u{0}", "(uid=alice)"] {
            #expect(try await ldap.authenticate(user: attempt, password: "alice-password") == nil, "\(attempt)")
        }
        // Several entries for one name: docker_auth's "Too many entries returned", an error.
        await Self.expectUnavailable({ try await ldap.authenticate(user: "twin", password: "twin-password") }, "twin")
    }

    @Test func startTLSAndLDAPSVerifyTheServer() async throws {
        guard let server = TestDirectory.server else { return }
        let startTLS = try LDAPAuthentication(server.configuration(tls: "starttls", caFile: server.caFile))
        #expect(try await startTLS.authenticate(user: "bob", password: "bob-password")?.account == "bob")
        await Self.expectWrongPassword { try await startTLS.authenticate(user: "bob", password: "nope") }
        let ldaps = try LDAPAuthentication(server.configuration(tls: "always", overTLSPort: true, caFile: server.caFile))
        #expect(try await ldaps.authenticate(user: "bob", password: "bob-password")?.account == "bob")

        // A certificate from an unknown CA is refused unless verification is turned off.
        let otherCA = FileManager.default.temporaryDirectory.appendingPathComponent("berth-other-ca-\(UUID().uuidString).pem").path
        defer { try? FileManager.default.removeItem(atPath: otherCA) }
        try Self.makeSelfSignedCertificate(at: otherCA)
        let untrusted = try LDAPAuthentication(server.configuration(tls: "starttls", caFile: otherCA))
        await Self.expectUnavailable({ try await untrusted.authenticate(user: "bob", password: "bob-password") }, "untrusted CA")
        let skipping = try LDAPAuthentication(server.configuration(tls: "starttls", caFile: otherCA, skipVerify: true))
        #expect(try await skipping.authenticate(user: "bob", password: "bob-password")?.account == "bob")
        // StartTLS against the LDAPS port, plain LDAP against it: errors, not logins.
        let confused = try LDAPAuthentication(server.configuration(tls: "none", overTLSPort: true))
        await Self.expectUnavailable({ try await confused.authenticate(user: "bob", password: "bob-password") }, "plain to LDAPS")
    }

    @Test func aDirectoryThatIsDownOrRefusesTheSearchAccountIsUnavailable() async throws {
        guard let server = TestDirectory.server else { return }
        var down = server
        down.plain = "ldap://127.0.0.1:1"
        let unreachable = try LDAPAuthentication(down.configuration())
        let started = ContinuousClock.now
        await Self.expectUnavailable({ try await unreachable.authenticate(user: "bob", password: "bob-password") }, "down")
        // Refused at once; the bound only rules out waiting on a connection that never comes.
        #expect(ContinuousClock.now - started < TestTiming.bound(.seconds(15)))

        let passwordFile = FileManager.default.temporaryDirectory.appendingPathComponent("berth-bind-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: passwordFile) }
        FileManager.default.createFile(atPath: passwordFile, contents: Data("wrong-secret\n".utf8))
        var wrongBind = server.configuration()
        wrongBind.bind_password_file = passwordFile
        let refused = try LDAPAuthentication(wrongBind)
        await Self.expectUnavailable({ try await refused.authenticate(user: "bob", password: "bob-password") }, "bad bind")
    }

    @Test func initialBindAsUser() async throws {
        guard let server = TestDirectory.server else { return }
        let ldap = try LDAPAuthentication(server.configuration(
            labels: TestDirectory.groups, bindDN: "uid=${account},ou=people,dc=berth,dc=test", initialBindAsUser: true))
        #expect(try await ldap.authenticate(user: "alice", password: "alice-password")?.labels["groups"]?.sorted()
                == ["admins", "developers"])
        await Self.expectWrongPassword { try await ldap.authenticate(user: "alice", password: "bob-password") }
        // A DN-breaking name is escaped into a DN that does not exist.
        await Self.expectWrongPassword { try await ldap.authenticate(user: "alice,ou=people", password: "alice-password") }
    }

    @Test func lookupFindsPeopleStillInTheDirectory() async throws {
        guard let server = TestDirectory.server else { return }
        let ldap = try LDAPAuthentication(server.configuration(labels: TestDirectory.groups))
        #expect(try await ldap.lookup(user: "bob")?.labels["groups"] == ["developers"])
        #expect(try await ldap.lookup(user: "nobody") == nil)
    }

    @Test func configurationMistakesAreReportedAtStart() throws {
        let base = LDAPConfiguration(addr: "127.0.0.1:389", base: "dc=x", filter: "(uid=${account})")
        var noAccount = base
        noAccount.filter = "(uid=alice)"
        #expect(throws: AuthError.self) { try LDAPAuthentication(noAccount) }
        var badTLS = base
        badTLS.tls = "sometimes"
        #expect(throws: AuthError.self) { try LDAPAuthentication(badTLS) }
        var badAddress = base
        badAddress.addr = "ldap://127.0.0.1"
        #expect(throws: AuthError.self) { try LDAPAuthentication(badAddress) }
        var missingCA = base
        missingCA.ca_certificate = "/nonexistent/ca.pem"
        #expect(throws: AuthError.self) { try LDAPAuthentication(missingCA) }
        var badTimeout = base
        badTimeout.timeout = "soon"
        #expect(throws: AuthError.self) { try LDAPAuthentication(badTimeout) }
    }

    static func makeSelfSignedCertificate(at path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                             "-days", "1", "-subj", "/CN=Some other CA", "-keyout", "/dev/null", "-out", path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw AuthError.configuration("openssl req failed") }
    }
}
