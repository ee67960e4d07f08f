import Config
import Foundation
import HTTPTypes
import HummingbirdBcrypt
import HummingbirdTesting
import OCI
import Testing

@Suite struct AuthAPITests {
    static let password = "correct horse"
    static let serverYAML = """
    token:
      issuer: "Berth test"
      expiration: 900
    users:
      alice:
        password: "\(Bcrypt.hash(password, cost: 4))"
      reader:
        password: "\(Bcrypt.hash(password, cost: 4))"
      "": {}
    acl:
      - match: {account: "alice"}
        actions: ["*"]
      - match: {account: "reader"}
        actions: ["pull"]
      - match: {account: "", name: "public/*"}
        actions: ["pull"]
    """

    func fixture() -> APIFixture {
        APIFixture {
            $0.tokenAuth = .init(service: "test registry", serverYAML: Self.serverYAML)
        }
    }

    /// A realm written for docker_auth with `server.path_prefix` keeps working when Berth
    /// serves the same auth_config.yml itself.
    @Test func docker_authPathPrefixIsServedToo() async throws {
        let fixture = APIFixture {
            $0.tokenAuth = .init(service: "test registry", serverYAML: "server:\n  path_prefix: /token-svc/\n" + Self.serverYAML)
        }
        try await fixture.run { c, _ in
            let query = "?service=test+registry&scope=repository:public/app:pull"
            for path in ["/token-svc/auth", "/token-svc/auth/token", "/auth"] {
                let response = try await c.send(.get, path + query, headers: [.authorization: Self.basic("alice")])
                #expect(response.status == .ok, "\(path)")
            }
            #expect(try await c.send(.get, "/other-svc/auth" + query).status == .notFound)
        }
    }

    /// A token request's body is form fields, 64 KiB at most: more is refused as such.
    @Test func anOversizedTokenRequestIsRefusedAsTooLarge() async throws {
        try await fixture().run { c, _ in
            let response = try await c.send(.post, "/auth/token", headers: [.contentType: "application/x-www-form-urlencoded"],
                                            body: Array(repeating: UInt8(ascii: "a"), count: 70_000))
            #expect(response.status == .badRequest)
            #expect(response.text.contains("request body too large"))
        }
    }

    static func basic(_ user: String, _ password: String = AuthAPITests.password) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    func token(_ c: APIFixture.Client, _ scope: String?, as user: String?) async throws -> String {
        var uri = "/auth/token?service=test+registry"  // form encoding, as docker and skopeo send it
        if let scope { uri += "&scope=\(scope)" }
        var headers = HTTPFields()
        if let user { headers[.authorization] = Self.basic(user) }
        let r = try await c.send(.get, uri, headers: headers)
        #expect(r.status == .ok, "\(r.text)")
        struct Body: Decodable { var token: String; var access_token: String; var expires_in: Int; var issued_at: String }
        let body = try JSONDecoder().decode(Body.self, from: Data(r.text.utf8))
        #expect(body.token == body.access_token)
        #expect(body.expires_in == 900)
        return body.token
    }

    @Test func challengesFollowDistribution() async throws {
        try await fixture().run { c, _ in
            let ping = try await c.send(.get, "/v2/")
            #expect(ping.status == .unauthorized)
            #expect(ping.header("WWW-Authenticate") == #"Bearer realm="http://localhost/auth/token",service="test registry""#)
            #expect(ping.errorCode == "UNAUTHORIZED")
            let push = try await c.send(.post, "/v2/alice/app/blobs/uploads/?mount=\(Digest.compute([1]))&from=base/img")
            #expect(push.header("WWW-Authenticate") == #"Bearer realm="http://localhost/auth/token",service="test registry",scope="repository:alice/app:pull,push repository:base/img:pull""#)
            #expect(push.text.contains(#"{"Type":"repository","Class":"","Name":"alice/app","Action":"push"}"#))
            let catalog = try await c.send(.get, "/v2/_catalog")
            #expect(catalog.header("WWW-Authenticate")?.hasSuffix(#"scope="registry:catalog:*""#) == true)
            let bogus = try await c.send(.get, "/v2/", headers: [.authorization: "Bearer not.a.token"])
            #expect(bogus.header("WWW-Authenticate")?.hasSuffix(#",error="invalid_token""#) == true)
        }
    }

    @Test func realIPHeaderFeedsIPRules() async throws {
        let yaml = """
        server:
          addr: ":5001"
          real_ip_header: X-Forwarded-For
          real_ip_pos: -1
        token: {issuer: t, expiration: 60}
        users: {"": {}}
        acl:
          - match: {ip: "10.1.0.0/16"}
            actions: ["*"]
        """
        try await APIFixture { $0.tokenAuth = .init(service: "s", serverYAML: yaml) }.run { c, _ in
            struct Body: Decodable { var token: String }
            func grantedPush(_ forwarded: String) async throws -> Bool {
                let r = try await c.send(.get, "/auth/token?service=s&scope=repository:x:push", headers: [HTTPField.Name("X-Forwarded-For")!: forwarded])
                #expect(r.status == .ok, "\(r.text)")
                let token = try JSONDecoder().decode(Body.self, from: Data(r.text.utf8)).token
                let payload = String(token.split(separator: ".")[1])
                var b64 = payload.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                while b64.count % 4 != 0 { b64 += "=" }
                return String(decoding: Data(base64Encoded: b64)!, as: UTF8.self).contains(#""actions":["push"]"#)
            }
            let lastHopInside = try await grantedPush("192.168.1.1, 10.1.2.3")
            let lastHopOutside = try await grantedPush("10.1.2.3, 192.168.1.1")
            #expect(lastHopInside)
            #expect(!lastHopOutside)
            #expect(try await c.send(.get, "/auth/token?service=s").status == .badRequest)
        }
    }

    @Test func autoRedirectBuildsTheRealmFromTheRequest() async throws {
        let key = try SigningKey.generate()
        let bundle = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID().uuidString).pem").path
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        try key.certificatesPEM().write(toFile: bundle, atomically: true, encoding: .utf8)
        try await APIFixture {
            $0.tokenAuth = .init(realm: "https://ignored.example/auth", service: "svc", issuer: "ext", rootCertBundle: bundle, autoRedirect: true)
        }.run { c, _ in
            let r = try await c.send(.get, "/v2/")
            #expect(r.header("WWW-Authenticate") == #"Bearer realm="https://localhost/auth/token",service="svc""#)
            // No token endpoint here: Berth only verifies tokens of the external issuer.
            #expect(try await c.send(.get, "/auth/token").status == .notFound)
            let token = try await TokenIssuer(issuer: "ext", expiration: 60, signingKey: key).issue(subject: "u", audience: "svc", access: []).token
            #expect(try await c.send(.get, "/v2/", headers: [.authorization: "Bearer \(token)"]).status == .ok)
        }
    }

    @Test func tokensGrantWhatTheACLAllows() async throws {
        try await fixture().run { c, _ in
            // docker login: no scope, credentials checked, a token good for /v2/.
            let login = try await token(c, nil, as: "alice")
            #expect(try await c.send(.get, "/v2/", headers: [.authorization: "Bearer \(login)"]).status == .ok)

            let alice = try await token(c, "repository:alice/app:pull,push", as: "alice")
            let bytes = Array("layer".utf8)
            let push = try await c.send(.post, "/v2/alice/app/blobs/uploads/?digest=\(Digest.compute(bytes))",
                                        headers: [.authorization: "Bearer \(alice)"], body: bytes)
            #expect(push.status == .created)
            // The same token does not open another repository.
            let elsewhere = try await c.send(.get, "/v2/bob/app/tags/list", headers: [.authorization: "Bearer \(alice)"])
            #expect(elsewhere.status == .unauthorized)
            #expect(elsewhere.header("WWW-Authenticate")?.hasSuffix(#"error="insufficient_scope""#) == true)

            // reader asks for push and gets only pull: a 200 with less, as docker_auth does.
            let reader = try await token(c, "repository:alice/app:pull,push", as: "reader")
            let readerPush = try await c.send(.post, "/v2/alice/app/blobs/uploads/", headers: [.authorization: "Bearer \(reader)"])
            #expect(readerPush.status == .unauthorized)
            let readerPull = try await c.send(.head, "/v2/alice/app/blobs/\(Digest.compute(bytes))", headers: [.authorization: "Bearer \(reader)"])
            #expect(readerPull.status == .ok)

            // Anonymous: only what the "" rules allow.
            let anonymous = try await token(c, "repository:public/img:pull,push", as: nil)
            let anonPull = try await c.send(.get, "/v2/public/img/tags/list", headers: [.authorization: "Bearer \(anonymous)"])
            #expect(anonPull.status == .notFound)  // allowed through, the repository simply does not exist
            let anonPush = try await c.send(.post, "/v2/public/img/blobs/uploads/", headers: [.authorization: "Bearer \(anonymous)"])
            #expect(anonPush.status == .unauthorized)
        }
    }

    @Test func badCredentialsAndRequests() async throws {
        try await fixture().run { c, _ in
            for header in [Self.basic("alice", "wrong"), Self.basic("nobody"), "Basic !!!notbase64", Self.basic(String(repeating: "x", count: 5000))] {
                let r = try await c.send(.get, "/auth/token?service=test%20registry", headers: [.authorization: header])
                #expect(r.status == .unauthorized)
                #expect(r.header("WWW-Authenticate") == #"Basic realm="Berth test""#)
            }
            let mismatch = try await c.send(.get, "/auth/token?service=s&account=reader", headers: [.authorization: Self.basic("alice")])
            #expect(mismatch.status == .badRequest)
            let badScope = try await c.send(.get, "/auth/token?service=s&scope=nonsense", headers: [.authorization: Self.basic("alice")])
            #expect(badScope.status == .badRequest)
            // OAuth2 password grant, as containerd and newer docker clients use.
            let form = "grant_type=password&service=test+registry&client_id=test&username=alice&password=correct+horse&scope=repository%3Aalice%2Fapp%3Apull"
            let oauth = try await c.send(.post, "/auth/token", headers: [.contentType: "application/x-www-form-urlencoded"], body: Array(form.utf8))
            #expect(oauth.status == .ok)
            #expect(oauth.text.contains("access_token"))
            // A token for another service (audience) is not accepted here.
            let otherService = try await c.send(.get, "/auth/token?service=elsewhere", headers: [.authorization: Self.basic("alice")])
            struct Body: Decodable { var token: String }
            let foreign = try JSONDecoder().decode(Body.self, from: Data(otherService.text.utf8)).token
            let r = try await c.send(.get, "/v2/", headers: [.authorization: "Bearer \(foreign)"])
            #expect(r.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
        }
    }
}

@Suite struct RefreshTokenTests {
    struct Body: Decodable { var token: String; var refresh_token: String? }

    @Test func dockerLoginIdentityTokens() async throws {
        try await AuthAPITests().fixture().run { c, store in
            // docker login: GET with offline_token=true and no scope.
            let login = try await c.send(.get, "/auth/token?account=alice&client_id=docker&offline_token=true&service=test+registry",
                                         headers: [.authorization: AuthAPITests.basic("alice")])
            let refresh = try #require(try JSONDecoder().decode(Body.self, from: Data(login.text.utf8)).refresh_token)
            #expect(refresh.hasPrefix("brt_"))
            // No refresh token unless asked, and never for anonymous requests.
            let plain = try await c.send(.get, "/auth/token?service=test+registry", headers: [.authorization: AuthAPITests.basic("alice")])
            #expect(try JSONDecoder().decode(Body.self, from: Data(plain.text.utf8)).refresh_token == nil)
            let anonymous = try await c.send(.get, "/auth/token?service=test+registry&offline_token=true")
            #expect(try JSONDecoder().decode(Body.self, from: Data(anonymous.text.utf8)).refresh_token == nil)
            // Only a hash of the token is stored, in the accounts database (not the storage).
            #expect(try await store.driver.listIfPresent(try .init("berth/refresh-tokens")).isEmpty)
            let listed = try await c.send(.get, "/berth/api/v1/users/alice/tokens", headers: [.authorization: AuthAPITests.basic("alice")])
            #expect(listed.status == .ok)
            #expect(listed.text.contains(RefreshTokens.id(of: refresh)))
            #expect(!listed.text.contains(refresh))

            // The identity token is exchanged with OAuth2, as docker does on push.
            let form = "grant_type=refresh_token&service=test+registry&client_id=docker&refresh_token=\(refresh)&scope=repository%3Aalice%2Fapp%3Apull%2Cpush"
            let exchanged = try await c.send(.post, "/auth/token", headers: [.contentType: "application/x-www-form-urlencoded"], body: Array(form.utf8))
            #expect(exchanged.status == .ok)
            let access = try JSONDecoder().decode(Body.self, from: Data(exchanged.text.utf8)).token
            let push = try await c.send(.post, "/v2/alice/app/blobs/uploads/", headers: [.authorization: "Bearer \(access)"])
            #expect(push.status == .accepted)

            // A token obtained with a refresh token is not exchanged for another refresh token.
            let again = try await c.send(.post, "/auth/token", headers: [.contentType: "application/x-www-form-urlencoded"],
                                         body: Array((form + "&access_type=offline").utf8))
            #expect(again.status == .ok)
            #expect(try JSONDecoder().decode(Body.self, from: Data(again.text.utf8)).refresh_token == nil)

            let forged = "grant_type=refresh_token&service=test+registry&refresh_token=brt_forged"
            #expect(try await c.send(.post, "/auth/token", body: Array(forged.utf8)).status == .unauthorized)
            let missing = "grant_type=refresh_token&service=test+registry"
            #expect(try await c.send(.post, "/auth/token", body: Array(missing.utf8)).status == .badRequest)

            // Revoked: the token stops working at once.
            let revoked = try await c.send(.delete, "/berth/api/v1/users/alice/tokens", headers: [.authorization: AuthAPITests.basic("alice")])
            #expect(revoked.text == #"{"revoked":1}"#)
            #expect(try await c.send(.post, "/auth/token", body: Array(form.utf8)).status == .unauthorized)
        }
    }
}

@Suite struct HtpasswdAPITests {
    @Test func everyonePullsOnlyCIPushes() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("htpasswd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let hash = Bcrypt.hash("pw", cost: 4)
        try "# users\nci:\("$2y$" + hash.dropFirst(4))\nbob:\(hash)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let fixture = APIFixture {
            $0.htpasswdAuth = .init(realm: "Docker Registry", path: file, readers: ["*"], writers: ["ci"])
        }
        try await fixture.run { c, _ in
            let anonymous = try await c.send(.get, "/v2/")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.header("WWW-Authenticate") == #"Basic realm="Docker Registry""#)
            #expect(try await c.send(.get, "/v2/", headers: [.authorization: AuthAPITests.basic("bob", "wrong")]).status == .unauthorized)
            #expect(try await c.send(.get, "/v2/", headers: [.authorization: AuthAPITests.basic("bob", "pw")]).status == .ok)
            let bobPush = try await c.send(.post, "/v2/app/blobs/uploads/", headers: [.authorization: AuthAPITests.basic("bob", "pw")])
            #expect(bobPush.status == .forbidden)
            #expect(bobPush.errorCode == "DENIED")
            let ciPush = try await c.send(.post, "/v2/app/blobs/uploads/", headers: [.authorization: AuthAPITests.basic("ci", "pw")])
            #expect(ciPush.status == .accepted)
            #expect(try await c.send(.get, "/v2/_catalog", headers: [.authorization: AuthAPITests.basic("bob", "pw")]).status == .ok)

            // An automatic mount (no from=) asks the access policy about the repository holding it.
            let layer = Array("ci layer".utf8)
            let ci = AuthAPITests.basic("ci", "pw")
            let pushed = try await c.send(.post, "/v2/app/blobs/uploads/?digest=\(Digest.compute(layer))", headers: [.authorization: ci], body: layer)
            #expect(pushed.status == .created)
            let mounted = try await c.send(.post, "/v2/other/blobs/uploads/?mount=\(Digest.compute(layer))", headers: [.authorization: ci])
            #expect(mounted.status == .created)

            // Password guessing against one account is slowed down; other accounts are not.
            for i in 0..<30 {
                _ = try await c.send(.get, "/v2/", headers: [.authorization: AuthAPITests.basic("bob", "guess \(i)")])
            }
            let throttled = try await c.send(.get, "/v2/", headers: [.authorization: AuthAPITests.basic("bob", "pw")])
            #expect(throttled.status == .tooManyRequests)
            #expect(try await c.send(.get, "/v2/", headers: [.authorization: AuthAPITests.basic("ci", "pw")]).status == .ok)
        }
    }

    @Test func htpasswdFilesHoldBcryptOnly() {
        #expect(throws: AuthError.self) { try Htpasswd.parse("alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n") }
        #expect(throws: AuthError.self) { try Htpasswd.parse("no-colon-here\n") }
        #expect(try! Htpasswd.parse("\n# c\na:$2y$05$abc\n").keys.sorted() == ["a"])
    }
}

import Auth
