@testable import Accounts
import Auth
import Foundation
import Testing

/// Account administration as the admin API and the web UI use it: a change applies to the
/// server's very next decision without anyone refreshing by hand, and a successful login
/// is remembered as the user's last sign-in.
@Suite struct AccountAdministrationSuite {
    static let hash = PasswordHash.make("correct horse", cost: 4)

    @Test(arguments: AccountEngine.allCases)
    func everyChangeAppliesToTheNextDecision(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            // A poll interval no test waits for: only the administration's own refresh can apply a change.
            let directory = try await AccountDirectory(store: store, pollInterval: .seconds(3600), staleAfter: .seconds(3600), logger: testLogger)
            let admin = AccountAdministration(directory: directory)
            let chain = PolicyChain(directory.policies)
            func decision(_ account: String, _ name: String) async throws -> [String] {
                try await chain.decide(AccessRequest(account: account, type: "repository", name: name, service: "s", actions: ["pull", "push"]))?.actions ?? []
            }

            try await admin.addUser("ci", passwordHash: Self.hash, labels: ["team": ["build"]], expiresAt: nil, by: cli)
            #expect(try await directory.authenticate(user: "ci", password: "correct horse")?.labels == ["team": ["build"]])
            try await admin.updateUser("ci", passwordHash: nil, labels: ["team": ["ops"]], disabled: nil, expiry: nil, by: cli)
            #expect(try await directory.lookup(user: "ci")?.labels == ["team": ["ops"]])
            try await admin.setDisabled("ci", true, by: cli)
            await #expect(throws: AuthError.inactive("account disabled")) { try await directory.authenticate(user: "ci", password: "correct horse") }
            try await admin.setDisabled("ci", false, by: cli)
            try await admin.setPassword("ci", passwordHash: PasswordHash.make("battery staple", cost: 4), by: cli)
            #expect(try await directory.authenticate(user: "ci", password: "battery staple") != nil)

            let rule = try await admin.addRule(ACLRule(match: .init(account: "ci", name: "ci/*"), actions: ["pull"]), at: nil, expiresAt: nil, by: cli)
            #expect(try await decision("ci", "ci/app") == ["pull"])
            try await admin.replaceRule(at: rule.position, with: ACLRule(match: .init(account: "ci", name: "ci/*"), actions: ["pull", "push"]),
                                        expiresAt: nil, by: cli)
            #expect(try await decision("ci", "ci/app") == ["pull", "push"])
            try await admin.removeRule(at: rule.position, by: cli)
            #expect(try await decision("ci", "ci/app") == [])

            let (_, secret) = try await admin.addRobot("builder", repositories: ["ci/*"], actions: ["pull"], description: nil, expiresAt: nil, by: cli)
            #expect(try await directory.authenticate(user: "robot$builder", password: secret) != nil)
            let rotated = try await admin.rotateRobot("builder", by: cli)
            await #expect(throws: (any Error).self) { try await directory.authenticate(user: "robot$builder", password: secret) }
            #expect(try await directory.authenticate(user: "robot$builder", password: rotated) != nil)
            try await admin.removeRobot("builder", by: cli)
            // An unknown robot is refused as a wrong secret would be.
            await #expect(throws: AuthError.unauthorized("wrong secret")) { try await directory.authenticate(user: "robot$builder", password: rotated) }

            try await admin.removeUser("ci", by: cli)
            #expect(try await directory.lookup(user: "ci") == nil)
            let actions = try await admin.audit(limit: 100, account: nil, action: nil, before: nil).map(\.action)
            #expect(actions.contains("user.add") && actions.contains("acl.edit") && actions.contains("robot.rotate") && actions.contains("user.rm"))
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func aSuccessfulLoginIsTheUsersLastSignIn(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addUser("ci", passwordHash: Self.hash, by: cli)
            try await store.addUser("idle", passwordHash: Self.hash, by: cli)
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            #expect(try await store.user("ci")?.lastLoginAt == nil)
            let before = Date().addingTimeInterval(-1)
            await directory.recordLogin(account: "ci", address: "192.0.2.1", success: true, reason: nil)
            // A refused login is not a sign-in.
            await directory.recordLogin(account: "idle", address: "192.0.2.1", success: false, reason: "wrong password")
            await directory.flushAudit()
            let last = try #require(try await store.user("ci")?.lastLoginAt)
            #expect(last >= before && last <= Date().addingTimeInterval(1))
            #expect(try await store.user("idle")?.lastLoginAt == nil)
            #expect(UserView(try #require(try await store.user("ci"))).lastLogin == last)
        }
    }
}

/// Pulls are kept as counts per repository and day, added up across batches (and replicas).
@Suite struct PullCountSuite {
    @Test(arguments: AccountEngine.allCases)
    func pullsAreCountedPerRepositoryAndDay(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            for _ in 0..<3 { directory.recordPull("team/app") }
            directory.recordPull("team/tool")
            await directory.flushAudit()
            // A second batch (another replica's, or the next flush) adds to the same row.
            for _ in 0..<2 { directory.recordPull("team/app") }
            await directory.flushAudit()
            let today = PullDay.day(Date())
            let counts = try await store.pullCounts(since: Date().addingTimeInterval(-86400))
            #expect(counts == [PullCount(repository: "team/app", day: today, pulls: 5), PullCount(repository: "team/tool", day: today, pulls: 1)])
            #expect(try await store.pullCounts(since: Date(), repository: "team/tool").map(\.pulls) == [1])
            let totals = try await store.pullTotals(since: Date().addingTimeInterval(-86400))
            #expect(totals.top.map(\.repository) == ["team/app", "team/tool"] && totals.top.map(\.pulls) == [5, 1])
            #expect(totals.pulls == 6 && totals.repositories == 2)
            // Kept as long as the audit log: a retention of a day drops older days only.
            try await store.record([], pulls: [PullDay(repository: "team/app", day: "2020-01-01"): 7])
            #expect(try await store.pullCounts(since: Date(timeIntervalSince1970: 0)).count == 3)
            try await store.pruneAudit(AuditRetention(maxEntries: 1000, maxAge: 86400))
            #expect(try await store.pullCounts(since: Date(timeIntervalSince1970: 0)).count == 2)
        }
    }
}
