import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Bad input to the admin API and the token endpoint gets a clear 4xx, never a 500 or a
/// silent choice.
@Suite struct AdminInputTests {
    @Test func oversizedAndAmbiguousBodiesAndInvalidScopeNames() async throws {
        try await AuthAPITests().fixture().run { c, _ in
            let admin: HTTPFields = [.authorization: AuthAPITests.basic("alice"), .contentType: "application/json"]
            let huge = #"{"name":"big","password":"a long password","labels":{"k":[""# + String(repeating: "v", count: 70 * 1024) + #""]}}"#
            let tooLarge = try await c.send(.post, "/berth/api/v1/users", headers: admin, body: Array(huge.utf8))
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorCode == "SIZE_INVALID")

            for body in [#"{"name":"twice","password":"a long password","password":"another password"}"#,
                         #"{"name":"twice","name":"other","password":"a long password"}"#,
                         #"{"name":"twice","password":"a long password","\u0070assword":"x"}"#] {
                let r = try await c.send(.post, "/berth/api/v1/users", headers: admin, body: Array(body.utf8))
                #expect(r.status == .badRequest, "\(body): \(r.status)")
                #expect(r.text.contains("more than once"))
            }
            #expect(try await c.send(.get, "/berth/api/v1/users/twice", headers: admin).status == .notFound)
            // Keys repeated in different objects are fine.
            let fine = try await c.send(.post, "/berth/api/v1/users", headers: admin,
                                        body: Array(#"{"name":"fine","password":"a long password","labels":{"name":["x"],"password":["y"]}}"#.utf8))
            #expect(fine.status == .created, "\(fine.text)")

            for scope in ["repository:UPPER/case:pull", "repository:a//b:pull", "repository:../etc:pull", "repository:-x:pull"] {
                let r = try await c.send(.get, "/auth/token?service=test+registry&scope=\(scope)", headers: [.authorization: AuthAPITests.basic("alice")])
                #expect(r.status == .badRequest, "\(scope): \(r.status)")
            }
            let hostPrefixed = try await c.send(.get, "/auth/token?service=test+registry&scope=repository:localhost:5000/team/app:pull",
                                                headers: [.authorization: AuthAPITests.basic("alice")])
            #expect(hostPrefixed.status == .ok)
        }
    }
}

@Suite struct OpenRegistryTests {
    @Test func anOpenRegistrySaysSoInReadyz() async throws {
        try await APIFixture().run { c, _ in
            let ready = try await c.send(.get, "/readyz")
            #expect(ready.status == .ok)
            #expect(ready.text.contains("this registry is OPEN"), "\(ready.text)")
            #expect(ready.text.contains("pull, push"))
        }
        try await AuthAPITests().fixture().run { c, _ in
            let ready = try await c.send(.get, "/readyz")
            #expect(ready.text == #"{"status":"ok"}"#)
        }
    }
}

@Suite struct AccessTestReasonTests {
    @Test func accessTestSaysWhyNothingIsGranted() async throws {
        try await AuthAPITests().fixture().run { c, _ in
            let admin: HTTPFields = [.authorization: AuthAPITests.basic("alice"), .contentType: "application/json"]
            func test(_ account: String) async throws -> String {
                let r = try await c.send(.post, "/berth/api/v1/access-test", headers: admin,
                                         body: Array(#"{"account":"\#(account)","repository":"alice/app","actions":["pull"]}"#.utf8))
                #expect(r.status == .ok)
                return r.text
            }
            #expect(try await test("ghost").contains(#""accountStatus":"unknown account""#))
            #expect(try await test("ghost").contains(#""granted":[]"#))
            #expect(try await !test("alice").contains("accountStatus"))
            _ = try await c.send(.post, "/berth/api/v1/users", headers: admin, body: Array(#"{"name":"dora","password":"a long password"}"#.utf8))
            _ = try await c.send(.patch, "/berth/api/v1/users/dora", headers: admin, body: Array(#"{"disabled":true}"#.utf8))
            #expect(try await test("dora").contains(#""accountStatus":"disabled""#))
            _ = try await c.send(.patch, "/berth/api/v1/users/dora", headers: admin, body: Array(#"{"disabled":false,"expires":"2020-01-01T00:00:00Z"}"#.utf8))
            #expect(try await test("dora").contains(#""accountStatus":"expired""#))
        }
    }
}
