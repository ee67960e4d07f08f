import Auth
import Server
import Storage
import Foundation
import HTTPTypes
import HummingbirdBcrypt
import HummingbirdTesting
import Testing

/// A credential change revokes everything issued under the old credential: refresh tokens
/// (what `docker login` keeps) and web sessions; signing out ends a session on the server,
/// so a copied cookie stops working too.
@Suite struct CredentialRevocationTests {
    struct TokenBody: Decodable { var token: String; var refresh_token: String? }
    let admin = AuthAPITests.basic("alice")

    func refreshToken(_ c: APIFixture.Client, user: String, password: String) async throws -> String {
        let basic = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        let r = try await c.send(.get, "/auth/token?service=test+registry&offline_token=true&client_id=docker", headers: [.authorization: basic])
        #expect(r.status == .ok, "\(r.text)")
        return try #require(try JSONDecoder().decode(TokenBody.self, from: Data(r.text.utf8)).refresh_token)
    }

    func redeem(_ c: APIFixture.Client, _ refresh: String) async throws -> HTTPResponse.Status {
        let form = "grant_type=refresh_token&service=test+registry&client_id=docker&refresh_token=\(refresh)&scope=repository%3Aalice%2Fapp%3Apull"
        return try await c.send(.post, "/auth/token", headers: [.contentType: "application/x-www-form-urlencoded"], body: Array(form.utf8)).status
    }

    func json(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func rotatingARobotRevokesItsRefreshTokens() async throws {
        try await AuthAPITests().fixture().run { c, _ in
            let created = try await c.send(.post, "/berth/api/v1/robots", headers: [.authorization: admin, .contentType: "application/json"],
                                           body: json(#"{"name":"ci","repositories":["alice/*"],"actions":["pull","push"]}"#))
            #expect(created.status == .created, "\(created.text)")
            struct Created: Decodable { var secret: String }
            let secret = try JSONDecoder().decode(Created.self, from: Data(created.text.utf8)).secret
            let refresh = try await refreshToken(c, user: "robot$ci", password: secret)
            #expect(try await redeem(c, refresh) == .ok)

            let rotated = try await c.send(.post, "/berth/api/v1/robots/ci/rotate", headers: [.authorization: admin, .contentType: "application/json"])
            #expect(rotated.status == .ok)
            #expect(try await redeem(c, refresh) == .unauthorized)
            let newSecret = try JSONDecoder().decode(Created.self, from: Data(rotated.text.utf8)).secret
            let fresh = try await refreshToken(c, user: "robot$ci", password: newSecret)
            #expect(try await redeem(c, fresh) == .ok)
        }
    }

    @Test func aPasswordChangeRevokesRefreshTokensAndSessions() async throws {
        try await AuthAPITests().fixture().run { c, _ in
            let added = try await c.send(.post, "/berth/api/v1/users", headers: [.authorization: admin, .contentType: "application/json"],
                                         body: json(#"{"name":"carol","password":"first password"}"#))
            #expect(added.status == .created, "\(added.text)")
            let refresh = try await refreshToken(c, user: "carol", password: "first password")
            let kept = try await refreshToken(c, user: "alice", password: AuthAPITests.password)
            let session = try await WebSignIn.signIn(c, user: "carol", password: "first password")
            #expect(try await WebSignIn.signedInAs(c, session) == "carol")
            #expect(try await redeem(c, refresh) == .ok)

            let changed = try await c.send(.patch, "/berth/api/v1/users/carol", headers: [.authorization: admin, .contentType: "application/json"],
                                           body: json(#"{"password":"second password"}"#))
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(try await redeem(c, refresh) == .unauthorized)
            #expect(try await WebSignIn.signedInAs(c, session) == nil)
            // Other accounts keep theirs.
            #expect(try await redeem(c, kept) == .ok)
            // The new password works, and so do the tokens it gets.
            let again = try await refreshToken(c, user: "carol", password: "second password")
            #expect(try await redeem(c, again) == .ok)

            // Disabling and enabling again does not bring back what was issued before.
            let session2 = try await WebSignIn.signIn(c, user: "carol", password: "second password")
            for disabled in [true, false] {
                let r = try await c.send(.patch, "/berth/api/v1/users/carol", headers: [.authorization: admin, .contentType: "application/json"],
                                         body: json(#"{"disabled":\#(disabled)}"#))
                #expect(r.status == .ok)
            }
            #expect(try await redeem(c, again) == .unauthorized)
            #expect(try await WebSignIn.signedInAs(c, session2) == nil)

            // "Sign out everywhere" (an admin's revoke of all of an account's tokens) ends sessions too.
            let session3 = try await WebSignIn.signIn(c, user: "carol", password: "second password")
            #expect(try await WebSignIn.signedInAs(c, session3) == "carol")
            #expect(try await c.send(.delete, "/berth/api/v1/users/carol/tokens", headers: [.authorization: admin]).status == .ok)
            #expect(try await WebSignIn.signedInAs(c, session3) == nil)
        }
    }

    @Test func signingOutEndsTheSessionForCopiesOfTheCookieToo() async throws {
        try await AuthAPITests().fixture().run { c, _ in
            let session = try await WebSignIn.signIn(c, user: "alice", password: AuthAPITests.password)
            let copy = session
            #expect(try await WebSignIn.signedInAs(c, copy) == "alice")
            #expect(try await c.send(.get, "/ui/admin/users", headers: [.cookie: copy.cookie]).status == .ok)
            try await WebSignIn.signOut(c, session)
            #expect(try await WebSignIn.signedInAs(c, copy) == nil)
            let admin = try await c.send(.get, "/ui/admin/users", headers: [.cookie: copy.cookie])
            #expect(admin.status != .ok || !admin.text.contains("alice"), "\(admin.status)")
        }
    }

    @Test func signingOutEverywhereEndsEverySessionAndDockerLogin() async throws {
        try await AuthAPITests().fixture().run { c, _ in
            let laptop = try await WebSignIn.signIn(c, user: "reader", password: AuthAPITests.password)
            let phone = try await WebSignIn.signIn(c, user: "reader", password: AuthAPITests.password)
            let docker = try await refreshToken(c, user: "reader", password: AuthAPITests.password)
            let others = try await WebSignIn.signIn(c, user: "alice", password: AuthAPITests.password)
            let r = try await c.send(.post, "/ui/logout", headers: [.cookie: laptop.cookie, .contentType: "application/x-www-form-urlencoded"],
                                     body: Array("csrf=\(laptop.csrf)&everywhere=1".utf8))
            #expect(r.status == .seeOther || r.status == .found)
            #expect(try await WebSignIn.signedInAs(c, laptop) == nil)
            #expect(try await WebSignIn.signedInAs(c, phone) == nil)
            let form = "grant_type=refresh_token&service=test+registry&refresh_token=\(docker)"
            #expect(try await c.send(.post, "/auth/token", headers: [.contentType: "application/x-www-form-urlencoded"], body: Array(form.utf8)).status == .unauthorized)
            #expect(try await WebSignIn.signedInAs(c, others) == "alice")
        }
    }

    @Test func htpasswdSessionsEndOnSignOutToo() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("htpasswd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "bob:\(Bcrypt.hash("bob password", cost: 4))\n".write(toFile: file, atomically: true, encoding: .utf8)
        try await APIFixture { $0.htpasswdAuth = .init(realm: "r", path: file, readers: ["*"], writers: []) }.run { c, store in
            // A session from yesterday left in the storage is purged at the next sign-in.
            let sessions = StorageRefreshTokenStore(driver: store.driver, directory: BerthLayout.webSessions)
            try await sessions.save(RefreshTokenRecord(account: "bob", issuedAt: Date(timeIntervalSinceNow: -86400), clientID: "berth-web-ui"),
                                    id: RefreshTokens.id(of: "old"))
            let session = try await WebSignIn.signIn(c, user: "bob", password: "bob password")
            #expect(try await WebSignIn.signedInAs(c, session) == "bob")
            #expect(try await sessions.all().count == 1)
            try await WebSignIn.signOut(c, session)
            #expect(try await WebSignIn.signedInAs(c, session) == nil)
            #expect(try await sessions.all().isEmpty)
        }
    }

    @Test func credentialsIssuedUnderAnEarlierValidSinceAreRefused() {
        let t = Date(timeIntervalSince1970: 1_700_000_000.123)
        // A replica that had not yet seen the change issued it under the old value.
        #expect(!RefreshTokens.stillValid(issuedUnder: t, issuedAt: t.addingTimeInterval(5), current: t.addingTimeInterval(0.001)))
        #expect(RefreshTokens.stillValid(issuedUnder: t, issuedAt: t, current: t))
        #expect(RefreshTokens.stillValid(issuedUnder: nil, issuedAt: t, current: nil))
        // Records from before valid-since was kept: their issue time decides.
        #expect(RefreshTokens.stillValid(issuedUnder: nil, issuedAt: t, current: t.addingTimeInterval(0.5)))
        #expect(!RefreshTokens.stillValid(issuedUnder: nil, issuedAt: t, current: t.addingTimeInterval(2)))
    }
}

/// Signing in and out of the web UI as a browser does.
enum WebSignIn {
    struct Session: Sendable {
        var cookie: String
        var csrf: String
    }

    static func cookieValue(_ response: TestResponse, _ name: String) -> String? {
        for value in response.headers[values: .setCookie] where value.hasPrefix(name + "=") {
            return String(value.dropFirst(name.count + 1).prefix { $0 != ";" })
        }
        return nil
    }

    static func field(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static func signIn(_ c: APIFixture.Client, user: String, password: String) async throws -> Session {
        let form = try await c.send(.get, "/ui/login")
        let loginCookie = try #require(cookieValue(form, "berth_login"))
        let csrf = try #require(field("csrf", in: form.text))
        let body = "csrf=\(csrf)&next=&username=\(user)&password=\(password.replacingOccurrences(of: " ", with: "+"))"
        let r = try await c.send(.post, "/ui/login", headers: [.cookie: "berth_login=\(loginCookie)", .contentType: "application/x-www-form-urlencoded"],
                                 body: Array(body.utf8))
        #expect(r.status == .seeOther || r.status == .found, "\(r.status) \(r.text)")
        let cookie = "berth_session=" + (try #require(cookieValue(r, "berth_session")))
        let page = try await c.send(.get, "/ui/", headers: [.cookie: cookie])
        return Session(cookie: cookie, csrf: try #require(field("csrf", in: page.text)))
    }

    /// The account a page shows as signed in, or nil.
    static func signedInAs(_ c: APIFixture.Client, _ session: Session) async throws -> String? {
        let page = try await c.send(.get, "/ui/", headers: [.cookie: session.cookie])
        guard page.text.contains("/ui/logout") else { return nil }
        return field("csrf", in: page.text) == session.csrf ? signedInAccount(page.text) : nil
    }

    static func signedInAccount(_ html: String) -> String? {
        guard let range = html.range(of: #"class="who">"#) else { return "?" }
        return String(html[range.upperBound...].prefix { $0 != "<" })
    }

    static func signOut(_ c: APIFixture.Client, _ session: Session) async throws {
        let r = try await c.send(.post, "/ui/logout", headers: [.cookie: session.cookie, .contentType: "application/x-www-form-urlencoded"],
                                 body: Array("csrf=\(session.csrf)".utf8))
        #expect(r.status == .seeOther || r.status == .found, "\(r.status)")
    }
}

@Suite struct FailedLoginAPITests {
    @Test func throttledLoginsSayWhenToRetryAndAnAdminCanUnlock() async throws {
        let fixture = APIFixture {
            $0.tokenAuth = .init(service: "test registry", serverYAML: AuthAPITests.serverYAML)
            // The test client has no socket address: only the per-account bound applies.
            $0.failedLogins.perAccount = 3
        }
        try await fixture.run { c, _ in
            func login(_ user: String, _ password: String = AuthAPITests.password) async throws -> TestResponse {
                try await c.send(.get, "/auth/token?service=test+registry", headers: [.authorization: AuthAPITests.basic(user, password)])
            }
            for i in 0..<3 { #expect(try await login("reader", "wrong \(i)").status == .unauthorized) }
            let throttled = try await login("reader")
            #expect(throttled.status == .tooManyRequests)
            #expect(throttled.errorCode == "TOOMANYREQUESTS")
            let retry = try #require(throttled.header("Retry-After").flatMap { Int($0) })
            #expect(retry >= 1 && retry <= 300)
            // Basic auth on the admin API is refused the same way.
            let admin = try await c.send(.get, "/berth/api/v1/users", headers: [.authorization: AuthAPITests.basic("reader")])
            #expect(admin.status == .tooManyRequests)
            #expect(admin.header("Retry-After") != nil)
            // Others are not affected; an admin's unlock lets the account in again.
            #expect(try await login("alice").status == .ok)
            let unlocked = try await c.send(.post, "/berth/api/v1/users/reader/unlock",
                                            headers: [.authorization: AuthAPITests.basic("alice"), .contentType: "application/json"])
            #expect(unlocked.status == .noContent)
            #expect(try await login("reader").status == .ok)
        }
    }
}
