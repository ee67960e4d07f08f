import Foundation
import HTTPTypes
import HummingbirdBcrypt
import HummingbirdTesting
import Testing

/// Account names have one form (NFC) at every door, and names that could pass for others
/// are refused when created.
@Suite struct AccountNameTests {
    static let yaml = """
    token: {issuer: "Berth test", expiration: 900}
    users:
      alice: {password: "\(Bcrypt.hash(AuthAPITests.password, cost: 4))"}
    acl:
      - match: {account: "alice"}
        actions: ["*"]
      - match: {account: "jos\u{E9}", name: "team/*"}
        actions: ["pull"]
      - match: {account: "/.+/", name: "team/*"}
        actions: ["pull", "push"]
    """

    @Test func aDecomposedSpellingGetsTheRulesOfTheAccount() async throws {
        try await APIFixture { $0.tokenAuth = .init(service: "test registry", serverYAML: Self.yaml) }.run { c, _ in
            let admin: HTTPFields = [.authorization: AuthAPITests.basic("alice"), .contentType: "application/json"]
            let added = try await c.send(.post, "/berth/api/v1/users", headers: admin,
                                         body: Array(#"{"name":"jos\#u{E9}","password":"a long password"}"#.utf8))
            #expect(added.status == .created, "\(added.text)")
            for spelling in ["jos\u{E9}", "jose\u{301}"] {
                let basic = "Basic " + Data("\(spelling):a long password".utf8).base64EncodedString()
                let r = try await c.send(.get, "/auth/token?service=test+registry&scope=repository:team/app:pull,push", headers: [.authorization: basic])
                #expect(r.status == .ok, "\(r.text)")
                let claims = try Self.claims(r.text)
                #expect(claims.contains(#""actions":["pull"]"#), "\(spelling.unicodeScalars.count) scalars: \(claims)")
                #expect(claims.contains(#""sub":"jos\u00e9""#) || claims.contains("\"sub\":\"jos\u{E9}\""), "\(claims)")
            }
            // Looked up, audited and filtered under the one spelling.
            let user = try await c.send(.get, "/berth/api/v1/users/jose%CC%81", headers: admin)
            #expect(user.status == .ok, "\(user.text)")
            let refused = "Basic " + Data("jose\u{301}:wrong password".utf8).base64EncodedString()
            #expect(try await c.send(.get, "/auth/token?service=test+registry", headers: [.authorization: refused]).status == .unauthorized)
        }
    }

    @Test func namesThatCouldPassForOthersAreRefused() async throws {
        try await APIFixture { $0.tokenAuth = .init(service: "test registry", serverYAML: Self.yaml) }.run { c, _ in
            let admin: HTTPFields = [.authorization: AuthAPITests.basic("alice"), .contentType: "application/json"]
            for name in ["team*", "a?b", "[ops]", "ali\\u200Bce", "bob\\u202E", "eve\\u0007"] {
                let r = try await c.send(.post, "/berth/api/v1/users", headers: admin,
                                         body: Array(#"{"name":"\#(name)","password":"a long password"}"#.utf8))
                #expect(r.status == .badRequest, "\(name): \(r.status) \(r.text)")
            }
            // At the token endpoint, such a name is refused before any backend is asked.
            let basic = "Basic " + Data("ali\u{200B}ce:\(AuthAPITests.password)".utf8).base64EncodedString()
            #expect(try await c.send(.get, "/auth/token?service=test+registry", headers: [.authorization: basic]).status == .unauthorized)
        }
    }

    static func claims(_ body: String) throws -> String {
        struct Body: Decodable { var token: String }
        let token = try JSONDecoder().decode(Body.self, from: Data(body.utf8)).token
        var payload = String(token.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        return String(decoding: Data(base64Encoded: payload)!, as: UTF8.self)
    }
}
