import Foundation
import HTTPTypes
import HummingbirdBcrypt
import HummingbirdTesting
import OCI
import Testing

/// A mount reads from the repository the access check saw, and nowhere else.
@Suite struct CrossRepositoryMountTests {
    static let password = "correct horse"
    static let yaml = """
    token: {issuer: "Berth test", expiration: 900}
    users:
      alice: {password: "\(Bcrypt.hash(password, cost: 4))"}
      bob: {password: "\(Bcrypt.hash(password, cost: 4))"}
    acl:
      - match: {account: "/.+/", name: "${account}/*"}
        actions: ["*"]
    """

    func token(_ c: APIFixture.Client, _ user: String, _ scopes: [String]) async throws -> String {
        let query = scopes.map { "&scope=" + $0 }.joined()
        let basic = "Basic " + Data("\(user):\(Self.password)".utf8).base64EncodedString()
        let r = try await c.send(.get, "/auth/token?service=test" + query, headers: [.authorization: basic])
        struct Body: Decodable { var token: String }
        return try JSONDecoder().decode(Body.self, from: Data(r.text.utf8)).token
    }

    @Test func aRepeatedSourceIsRefusedAndNothingLeaks() async throws {
        try await APIFixture { $0.tokenAuth = .init(service: "test", serverYAML: Self.yaml) }.run { c, _ in
            let secret = Array("bob's private layer".utf8)
            let digest = Digest.compute(secret)
            let bob = try await token(c, "bob", ["repository:bob/secret:pull,push"])
            let pushed = try await c.send(.post, "/v2/bob/secret/blobs/uploads/?digest=\(digest)",
                                          headers: [.authorization: "Bearer \(bob)"], body: secret)
            #expect(pushed.status == .created)

            // alice may pull and push her own repository only.
            let alice = try await token(c, "alice", ["repository:alice/app:pull,push"])
            let auth: HTTPFields = [.authorization: "Bearer \(alice)"]
            for query in ["mount=\(digest)&from=bob/secret&from=alice/app", "mount=\(digest)&from=alice/app&from=bob/secret",
                          "mount=\(digest)&mount=\(digest)&from=alice/app", "digest=\(digest)&digest=\(digest)"] {
                let r = try await c.send(.post, "/v2/alice/app/blobs/uploads/?" + query, headers: auth)
                #expect(r.status == .badRequest, "\(query): \(r.status)")
                #expect(r.errorCode == "UNSUPPORTED", "\(query)")
                #expect(r.text.contains("more than once"))
            }
            // Naming bob's repository once asks for pull on it, which alice lacks.
            let single = try await c.send(.post, "/v2/alice/app/blobs/uploads/?mount=\(digest)&from=bob/secret", headers: auth)
            #expect(single.status == .unauthorized)
            #expect(single.header("WWW-Authenticate")?.contains("repository:bob/secret:pull") == true)
            // Even with a token that has pull on bob/secret granted as nothing, no mount happens.
            let wider = try await token(c, "alice", ["repository:alice/app:pull,push", "repository:bob/secret:pull"])
            let refused = try await c.send(.post, "/v2/alice/app/blobs/uploads/?mount=\(digest)&from=bob/secret",
                                           headers: [.authorization: "Bearer \(wider)"])
            #expect(refused.status == .unauthorized)
            let read = try await c.send(.get, "/v2/alice/app/blobs/\(digest)", headers: auth)
            #expect(read.status == .notFound)

            // A mount from her own repository still works.
            let own = Array("alice's layer".utf8)
            let ownDigest = Digest.compute(own)
            let ownPush = try await token(c, "alice", ["repository:alice/base:pull,push"])
            #expect(try await c.send(.post, "/v2/alice/base/blobs/uploads/?digest=\(ownDigest)",
                                     headers: [.authorization: "Bearer \(ownPush)"], body: own).status == .created)
            let both = try await token(c, "alice", ["repository:alice/app:pull,push", "repository:alice/base:pull"])
            let mounted = try await c.send(.post, "/v2/alice/app/blobs/uploads/?mount=\(ownDigest)&from=alice/base",
                                           headers: [.authorization: "Bearer \(both)"])
            #expect(mounted.status == .created)
        }
    }
}
