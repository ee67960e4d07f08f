import Accounts
import Auth
import Foundation
import Testing

/// The database as an identity backend and access policy, on every engine.
@Suite struct AccountDirectorySuite {
    static let hash = PasswordHash.make("correct horse", cost: 4)

    func request(_ account: String, _ name: String, _ actions: [String] = ["pull", "push"], type: String = "repository") -> AccessRequest {
        AccessRequest(account: account, type: type, name: name, service: "Berth registry", actions: actions)
    }

    @Test(arguments: AccountEngine.allCases)
    func usersAuthenticateUntilDisabledOrExpired(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addUser("ci", passwordHash: Self.hash, labels: ["team": ["build"]], by: cli)
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            #expect(try await directory.authenticate(user: "ci", password: "correct horse")?.labels == ["team": ["build"]])
            await #expect(throws: AuthError.unauthorized("wrong password")) { try await directory.authenticate(user: "ci", password: "nope") }
            #expect(try await directory.authenticate(user: "stranger", password: "x") == nil)
            try await store.setDisabled("ci", true, by: cli)
            try await directory.refresh()
            await #expect(throws: AuthError.inactive("account disabled")) { try await directory.authenticate(user: "ci", password: "correct horse") }
            await #expect(throws: AuthError.unauthorized("wrong password")) { try await directory.authenticate(user: "ci", password: "guess") }
            await #expect(throws: AuthError.unauthorized("account disabled")) { try await directory.lookup(user: "ci") }
            try await store.setDisabled("ci", false, by: cli)
            try await store.setExpiry("ci", Date(timeIntervalSinceNow: -1), by: cli)
            try await directory.refresh()
            await #expect(throws: AuthError.inactive("account expired")) { try await directory.authenticate(user: "ci", password: "correct horse") }
            await #expect(throws: AuthError.unauthorized("account expired")) { try await directory.lookup(user: "ci") }
            try await store.removeUser("ci", by: cli)
            try await directory.refresh()
            #expect(try await directory.lookup(user: "ci") == nil)
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func rulesDecideInOrderAndSayWhich(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addRule(ACLRule(match: .init(account: "ci", name: "ci/*"), actions: ["pull", "push"], comment: "ci pushes"), by: cli)
            try await store.addRule(ACLRule(match: .init(name: "${labels:project}/*"), actions: ["pull"]), by: cli)
            try await store.addRule(ACLRule(match: .init(name: "old/*"), actions: ["*"]), expiresAt: Date(timeIntervalSinceNow: -60), by: cli)
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            let chain = PolicyChain(directory.policies)
            #expect(try await chain.decide(request("ci", "ci/app")) == AccessDecision(actions: ["pull", "push"], policy: "database", rule: 1, comment: "ci pushes"))
            var labelled = request("dev", "sock-shop/x")
            labelled.labels = ["project": ["sock*"]]
            #expect(try await chain.decide(labelled)?.actions == ["pull"])
            // An expired rule no longer matches.
            #expect(try await chain.decide(request("ci", "old/x")) == nil)
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func robotsLogInWithTheirSecretAndStayInsideTheirRepositories(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addRule(ACLRule(match: .init(account: "*"), actions: ["*"], comment: "everyone everything"), by: cli)
            let (_, secret) = try await store.addRobot("builder", repositories: ["ci/*"], actions: ["pull", "push"], by: cli)
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            #expect(try await directory.authenticate(user: "robot$builder", password: secret)?.account == "robot$builder")
            await #expect(throws: AuthError.unauthorized("wrong secret")) { try await directory.authenticate(user: "robot$builder", password: secret + "x") }
            let chain = PolicyChain(directory.policies)
            #expect(try await chain.decide(request("robot$builder", "ci/app", ["pull", "push", "delete"]))?.actions == ["pull", "push"])
            // The catch-all rule does not widen a robot's rights.
            #expect(try await chain.decide(request("robot$builder", "prod/app"))?.actions == [])
            #expect(try await chain.decide(request("robot$builder", "catalog", ["*"], type: "registry"))?.actions == [])
            let rotated = try await store.rotateRobot("builder", by: cli)
            try await directory.refresh()
            await #expect(throws: AuthError.self) { try await directory.authenticate(user: "robot$builder", password: secret) }
            #expect(try await directory.authenticate(user: "robot$builder", password: rotated) != nil)
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func anonymousAccessNeedsARuleForTheEmptyAccount(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addRule(ACLRule(match: .init(account: "*"), actions: ["pull"]), by: cli)
            let directory = try await AccountDirectory(store: store, logger: testLogger)
            #expect(try await directory.allowsAnonymous() == false)
            try await store.addRule(ACLRule(match: .init(account: "", name: "public/*"), actions: ["pull"]), at: 1, by: cli)
            try await directory.refresh()
            #expect(try await directory.allowsAnonymous() == true)
        }
    }

    /// A change written by another process (the CLI, another replica) is picked up by the
    /// running directory's poll, without a restart.
    @Test(arguments: AccountEngine.allCases)
    func changesFromAnotherProcessApplyWithinTheNextPoll(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, location in
            let directory = try await AccountDirectory(store: store, pollInterval: .milliseconds(100), logger: testLogger)
            let watcher = Task { try await directory.run() }
            let other = try await AccountStore.open(location, logger: testLogger)
            try await other.addUser("late", passwordHash: Self.hash, by: cli)
            await other.close()
            let deadline = ContinuousClock.now + .seconds(2)
            while try await directory.lookup(user: "late") == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            watcher.cancel()
            #expect(try await directory.lookup(user: "late") != nil)
        }
    }

    /// A login this replica would refuse (unknown account, wrong password, disabled) checks
    /// the database first: another replica or the CLI may have just changed it, and the next
    /// poll is up to a second away (the first admin's login right after another replica
    /// created it was refused).
    @Test(arguments: AccountEngine.allCases)
    func aLoginThatWouldBeRefusedChecksTheDatabaseFirst(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, location in
            // No poller runs and the snapshot never goes stale on its own.
            let directory = try await AccountDirectory(store: store, pollInterval: .seconds(3600), staleAfter: .seconds(3600), logger: testLogger)
            let other = try await AccountStore.open(location, logger: testLogger)
            try await other.addUser("late", passwordHash: Self.hash, by: cli)
            #expect(try await directory.authenticate(user: "late", password: "correct horse") != nil, "a new account logs in at once")
            try await other.setDisabled("late", true, by: cli)
            try await other.addUser("looked-up", passwordHash: Self.hash, by: cli)
            #expect(try await directory.lookup(user: "looked-up") != nil, "a new account is found at once")
            try await other.setDisabled("late", false, by: cli)
            #expect(try await directory.authenticate(user: "late", password: "correct horse") != nil, "an enabled account logs in at once")
            try await other.setPassword("late", passwordHash: PasswordHash.make("battery staple", cost: 4), by: cli)
            #expect(try await directory.authenticate(user: "late", password: "battery staple") != nil, "a new password works at once")
            await other.close()
            await #expect(throws: AuthError.unauthorized("wrong password")) { try await directory.authenticate(user: "late", password: "correct horse") }
            #expect(try await directory.authenticate(user: "nobody", password: "x") == nil)
        }
    }

    /// A snapshot nobody refreshed (the poller starved of CPU, or not running) is checked by
    /// the request that finds it stale, so it is answered, not refused as unavailable.
    @Test func aStaleSnapshotIsCheckedByTheRequest() async throws {
        try await withStore(.sqlite) { store, _ in
            try await store.addUser("ci", passwordHash: Self.hash, by: cli)
            let directory = try await AccountDirectory(store: store, staleAfter: .milliseconds(200), logger: testLogger)
            try await Task.sleep(for: .milliseconds(300))
            try await store.addUser("late", passwordHash: Self.hash, by: cli)
            async let first = directory.authenticate(user: "ci", password: "correct horse")
            async let second = directory.lookup(user: "late")
            #expect(try await first != nil)
            #expect(try await second != nil, "the check reloads what changed")
        }
    }

    /// When the database cannot be reached, requests fail as unavailable (503) instead of
    /// being decided from a snapshot that may be out of date, and while it stays down they
    /// fail at once rather than each waiting for it.
    @Test func anUnreachableDatabaseMakesRequestsUnavailableNotRefused() async throws {
        try await withStore(.sqlite) { store, _ in
            try await store.addUser("ci", passwordHash: Self.hash, by: cli)
            let directory = try await AccountDirectory(store: store, staleAfter: .milliseconds(200), logger: testLogger)
            #expect(try await directory.authenticate(user: "ci", password: "correct horse") != nil)
            await store.close()
            try await Task.sleep(for: .milliseconds(300))
            for _ in 0..<3 {
                do {
                    _ = try await directory.authenticate(user: "ci", password: "correct horse")
                    Issue.record("a stale snapshot was used")
                } catch let error as AuthError {
                    if case .unavailable = error {} else { Issue.record("expected unavailable, got \(error)") }
                }
            }
        }
    }
}
