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

    /// `mount=` without `from=` (the spec's automatic content discovery): mounted from a
    /// repository that holds the blob and that the caller may pull, else an ordinary upload.
    @Test func anAutomaticMountTakesOnlyFromRepositoriesTheCallerMayPull() async throws {
        try await APIFixture { $0.tokenAuth = .init(service: "test", serverYAML: Self.yaml) }.run { c, _ in
            let secret = Array("bob's private layer".utf8)
            let secretDigest = Digest.compute(secret)
            let bob = try await token(c, "bob", ["repository:bob/secret:pull,push"])
            #expect(try await c.send(.post, "/v2/bob/secret/blobs/uploads/?digest=\(secretDigest)",
                                     headers: [.authorization: "Bearer \(bob)"], body: secret).status == .created)
            let own = Array("alice's base layer".utf8)
            let ownDigest = Digest.compute(own)
            let base = try await token(c, "alice", ["repository:alice/base:pull,push"])
            #expect(try await c.send(.post, "/v2/alice/base/blobs/uploads/?digest=\(ownDigest)",
                                     headers: [.authorization: "Bearer \(base)"], body: own).status == .created)

            // A token for alice/app alone: nothing else is pullable, so an upload starts.
            let appOnly = try await token(c, "alice", ["repository:alice/app:pull,push"])
            for digest in [secretDigest, ownDigest] {
                let r = try await c.send(.post, "/v2/alice/app/blobs/uploads/?mount=\(digest)", headers: [.authorization: "Bearer \(appOnly)"])
                #expect(r.status == .accepted, "\(digest): \(r.status)")
                #expect(try await c.send(.head, "/v2/alice/app/blobs/\(digest)", headers: [.authorization: "Bearer \(appOnly)"]).status == .notFound)
            }
            // With pull on alice/base in the token, the blob is found there and mounted.
            let both = try await token(c, "alice", ["repository:alice/app:pull,push", "repository:alice/base:pull"])
            let mounted = try await c.send(.post, "/v2/alice/app/blobs/uploads/?mount=\(ownDigest)", headers: [.authorization: "Bearer \(both)"])
            #expect(mounted.status == .created)
            #expect(mounted.header("Location")?.hasSuffix("/v2/alice/app/blobs/\(ownDigest)") == true)
            #expect(try await c.send(.head, "/v2/alice/app/blobs/\(ownDigest)", headers: [.authorization: "Bearer \(appOnly)"]).status == .ok)
            // Bob's blob stays out of reach even so.
            let stillNot = try await c.send(.post, "/v2/alice/app/blobs/uploads/?mount=\(secretDigest)", headers: [.authorization: "Bearer \(both)"])
            #expect(stillNot.status == .accepted)
        }
    }

    @Test func anAutomaticMountOnAnOpenRegistryFindsAnyHolder() async throws {
        try await APIFixture().run { c, _ in
            let layer = Array("shared layer".utf8)
            let digest = Digest.compute(layer)
            let other = Array("another layer".utf8)
            let first = try await c.send(.post, "/v2/x/one/blobs/uploads/?digest=\(Digest.compute(other))", body: other)
            #expect(first.status == .created)
            let pushed = try await c.send(.post, "/v2/x/two/blobs/uploads/?digest=\(digest)", body: layer)
            #expect(pushed.status == .created)
            #expect(try await c.send(.post, "/v2/y/three/blobs/uploads/?mount=\(digest)").status == .created)
            #expect(try await c.send(.get, "/v2/y/three/blobs/\(digest)").text == "shared layer")
            let unknown = Digest.compute(Array("nowhere".utf8))
            #expect(try await c.send(.post, "/v2/y/three/blobs/uploads/?mount=\(unknown)").status == .accepted)
        }
    }
}
