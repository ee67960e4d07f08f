import Foundation
import HTTPTypes
import HummingbirdBcrypt
import OCI
import Testing

/// `DELETE /berth/api/v1/repositories/NAME`: the whole repository, for callers with delete on it.
@Suite struct RepositoryDeletionTests {
    @Test func anOpenRegistryDeletesARepositoryAndKeepsTheOnesNestedUnderIt() async throws {
        try await APIFixture().run { c, _ in
            _ = try await c.pushImage("team/app", tag: "v1")
            _ = try await c.pushImage("team/app", tag: "v2", seed: 2)
            _ = try await c.pushImage("team/app/cache", tag: "v1", seed: 3)
            let r = try await c.send(.delete, "/berth/api/v1/repositories/team/app")
            #expect(r.status == .ok)
            struct Body: Decodable { var repository: String; var tags: [String]; var manifests: [String] }
            let body = try JSONDecoder().decode(Body.self, from: Data(r.text.utf8))
            #expect(body.repository == "team/app" && body.tags == ["v1", "v2"] && body.manifests.count == 2)
            #expect(try await c.send(.get, "/v2/team/app/tags/list").status == .notFound)
            #expect(try await c.send(.get, "/v2/team/app/cache/tags/list").status == .ok)
            #expect(!(try await c.send(.get, "/v2/_catalog").text.contains(#""team/app""#)))
            let again = try await c.send(.delete, "/berth/api/v1/repositories/team/app")
            #expect(again.status == .notFound && again.errorCode == "NAME_UNKNOWN")
            let invalid = try await c.send(.delete, "/berth/api/v1/repositories/Team/..")
            #expect(invalid.status == .badRequest && invalid.errorCode == "NAME_INVALID")
        }
    }

    @Test func itNeedsDeleteOnTheRepositoryNotAdministratorRights() async throws {
        let yaml = """
        token: {issuer: "Berth test", expiration: 900}
        users:
          alice: {password: "\(Bcrypt.hash("pw", cost: 4))"}
          bob: {password: "\(Bcrypt.hash("pw", cost: 4))"}
        acl:
          - match: {account: "/.+/", name: "${account}/*"}
            actions: ["*"]
          - match: {account: "bob", name: "alice/*"}
            actions: ["pull"]
        """
        try await APIFixture { $0.tokenAuth = .init(service: "test", serverYAML: yaml) }.run { c, _ in
            func token(_ user: String, _ scope: String) async throws -> String {
                let basic = "Basic " + Data("\(user):pw".utf8).base64EncodedString()
                let r = try await c.send(.get, "/auth/token?service=test&scope=\(scope)", headers: [.authorization: basic])
                struct Body: Decodable { var token: String }
                return try JSONDecoder().decode(Body.self, from: Data(r.text.utf8)).token
            }
            let push = try await token("alice", "repository:alice/app:pull,push")
            let layer = Array("a layer".utf8)
            #expect(try await c.send(.post, "/v2/alice/app/blobs/uploads/?digest=\(Digest.compute(layer))",
                                     headers: [.authorization: "Bearer \(push)"], body: layer).status == .created)

            let anonymous = try await c.send(.delete, "/berth/api/v1/repositories/alice/app")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.header("WWW-Authenticate")?.contains(#"scope="repository:alice/app:delete""#) == true)
            let bobs = try await token("bob", "repository:alice/app:delete")
            let refused = try await c.send(.delete, "/berth/api/v1/repositories/alice/app", headers: [.authorization: "Bearer \(bobs)"])
            #expect(refused.status == .unauthorized, "bob may only pull there")
            let alices = try await token("alice", "repository:alice/app:delete")
            let deleted = try await c.send(.delete, "/berth/api/v1/repositories/alice/app", headers: [.authorization: "Bearer \(alices)"])
            #expect(deleted.status == .ok, "\(deleted.text)")
            #expect(try await c.send(.head, "/v2/alice/app/blobs/\(Digest.compute(layer))", headers: [.authorization: "Bearer \(push)"]).status == .notFound)
        }
    }
}
