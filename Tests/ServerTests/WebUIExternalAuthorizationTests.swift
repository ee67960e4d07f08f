@testable import Server

import Foundation
import HTTPTypes
import HummingbirdBcrypt
import Testing

/// With docker_auth's `ext_authz`, every decision is a program run: the web UI's listings ask
/// it about a bounded number of repositories and say so, instead of one run per repository
/// in the registry on every page view.
@Suite struct WebUIExternalAuthorizationTests {
    static let repositories = WebUI.outOfProcessListLimit + 10

    @Test func listingsAskTheProgramAboutABoundedNumberOfRepositories() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-ext-authz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runs = directory + "/runs"
        let program = directory + "/authz.sh"
        // Grants everything and counts its runs (one line each).
        try "#!/bin/sh\ncat > /dev/null\necho run >> '\(runs)'\nexit 0\n".write(toFile: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program)
        let yaml = """
        token:
          issuer: "Berth test"
          expiration: 900
        users:
          alice:
            password: "\(Bcrypt.hash(AuthAPITests.password, cost: 4))"
        ext_authz:
          command: "\(program)"
        """
        @Sendable func runCount() -> Int {
            ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        let fixture = APIFixture { $0.tokenAuth = .init(service: "test registry", serverYAML: yaml) }
        try await fixture.run { c, _ in
            for i in 0..<Self.repositories {
                let repository = String(format: "team/r%03d", i)
                let token = try await AuthAPITests().token(c, "repository:\(repository):push,pull", as: "alice")
                _ = try await c.pushImage(repository, tag: "v1", headers: HTTPFields([HTTPField(name: .authorization, value: "Bearer \(token)")]))
            }
            let session = try await WebSignIn.signIn(c, user: "alice", password: AuthAPITests.password)

            var before = runCount()
            let list = try await c.send(.get, "/ui/", headers: [.cookie: session.cookie])
            #expect(list.status == .ok)
            #expect(list.text.contains("only the first \(WebUI.outOfProcessListLimit) repositories by name were checked"))
            #expect(!list.text.contains("\(Self.repositories)"), "the notice does not say how many repositories there are")
            #expect(list.text.contains("\(WebUI.outOfProcessListLimit) repositories"), "the total counts what was checked")
            // The listing's own questions, and a few for the page's frame (is the visitor an admin).
            let asked = runCount() - before
            #expect(asked >= WebUI.outOfProcessListLimit && asked <= WebUI.outOfProcessListLimit + 5, "\(asked) program runs")

            // A search narrows the names before they are asked about: the rest can be found.
            before = runCount()
            let found = try await c.send(.get, "/ui/?q=r20", headers: [.cookie: session.cookie])
            #expect(found.text.contains(">team/r209</a>") && found.text.contains(">team/r200</a>"))
            #expect(!found.text.contains("were checked"))
            #expect(runCount() - before <= 10 + 5)

            before = runCount()
            let home = try await c.send(.get, "/ui/home", headers: [.cookie: session.cookie])
            #expect(home.status == .ok)
            #expect(home.text.contains("only the first \(WebUI.outOfProcessListLimit) repositories (recently pushed, then by name) were checked"))
            #expect(home.text.contains("You may pull at least \(WebUI.outOfProcessListLimit) repositories"))
            // The newest pushes (past the first 200 by name) were asked about first.
            #expect(home.text.contains("Recent pushes") && home.text.contains(">team/r209:v1</a>"), "\(home.text)")
            #expect(runCount() - before <= WebUI.outOfProcessListLimit + 5)
        }
    }
}
