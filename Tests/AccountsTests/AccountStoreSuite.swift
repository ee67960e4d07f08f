import Accounts
import Auth
import Foundation
import Testing

/// One behavioural suite for every account database engine, as the storage drivers share one.
@Suite struct AccountStoreSuite {
    static let hash = PasswordHash.make("correct horse", cost: 4)

    @Test(arguments: AccountEngine.allCases)
    func refreshTokensAreKeptHashedListedAndRevoked(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addUser("ci", passwordHash: Self.hash, by: cli)
            let issued = Date(timeIntervalSince1970: 1_800_000_000)
            let ids = ["brt_one", "brt_two", "brt_three"].map(RefreshTokens.id(of:))
            for (index, id) in ids.enumerated() {
                try await store.save(RefreshTokenRecord(account: index < 2 ? "ci" : "other", issuedAt: issued.addingTimeInterval(Double(index)),
                                                        clientID: "docker"), id: id)
            }
            #expect(try await store.load(id: ids[0]) == RefreshTokenRecord(account: "ci", issuedAt: issued, clientID: "docker"))
            #expect(try await store.load(id: RefreshTokens.id(of: "brt_unknown")) == nil)
            let labelled = RefreshTokens.id(of: "brt_labelled")
            try await store.save(RefreshTokenRecord(account: "ext", issuedAt: issued, clientID: nil, labels: ["team": ["build", "ops"]]), id: labelled)
            #expect(try await store.load(id: labelled)?.labels == ["team": ["build", "ops"]])
            try await store.delete(id: labelled)
            #expect(try await store.refreshTokens(account: "ci").map(\.id) == [ids[1], ids[0]])
            #expect(try await store.refreshTokens().count == 3)

            // One by id prefix: too short, ambiguous or unknown prefixes change nothing.
            await #expect(throws: AccountError.self) { try await store.revokeRefreshTokens(account: "ci", idPrefix: "abc", by: cli) }
            await #expect(throws: AccountError.self) {
                try await store.revokeRefreshTokens(account: "ci", idPrefix: "'; DROP TABLE berth_users; --", by: cli)
            }
            await #expect(throws: AccountError.self) {
                try await store.revokeRefreshTokens(account: "other", idPrefix: String(ids[0].prefix(12)), by: cli)
            }
            #expect(try await store.revokeRefreshTokens(account: "ci", idPrefix: String(ids[0].prefix(12)), by: cli) == 1)
            #expect(try await store.load(id: ids[0]) == nil)
            #expect(try await store.audit(limit: 1, account: "ci", action: "token").first?.action == "token.revoke")

            // Removing the account takes its tokens with it; others' stay.
            try await store.removeUser("ci", by: cli)
            #expect(try await store.load(id: ids[1]) == nil)
            #expect(try await store.load(id: ids[2])?.account == "other")
            #expect(try await store.revokeRefreshTokens(account: "other", by: cli) == 1)
            #expect(try await store.refreshTokens().isEmpty)

            // Tokens moved in from elsewhere: new ones added, known ones left alone.
            try await store.save(RefreshTokenRecord(account: "kept", issuedAt: issued, clientID: nil), id: ids[0])
            try await store.importRefreshTokens([(ids[0], RefreshTokenRecord(account: "overwritten?", issuedAt: issued, clientID: nil)),
                                                 (ids[1], RefreshTokenRecord(account: "moved", issuedAt: issued, clientID: nil))])
            #expect(try await store.load(id: ids[0])?.account == "kept")
            #expect(try await store.load(id: ids[1])?.account == "moved")
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func usersAreAddedChangedAndRemoved(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let before = try await store.generation()
            try await store.addUser("ci", passwordHash: Self.hash, labels: ["team": ["build", "ops"]], by: cli)
            #expect(try await store.generation() > before)
            await #expect(throws: AccountError.conflict("user ci exists")) {
                try await store.addUser("ci", passwordHash: Self.hash, by: cli)
            }
            var user = try #require(try await store.user("ci"))
            #expect(user.labels == ["team": ["build", "ops"]])
            #expect(user.passwordHash == Self.hash && !user.disabled && user.expiresAt == nil)
            try await store.setLabels("ci", ["team": ["qa"]], by: cli)
            try await store.setDisabled("ci", true, by: cli)
            let expiry = Date(timeIntervalSince1970: 2_000_000_000)
            try await store.setExpiry("ci", expiry, by: cli)
            user = try #require(try await store.user("ci"))
            #expect(user.labels == ["team": ["qa"]] && user.disabled && user.expiresAt == expiry)
            await #expect(throws: AccountError.notFound("no user nobody")) { try await store.setDisabled("nobody", true, by: cli) }
            try await store.removeUser("ci", by: cli)
            #expect(try await store.user("ci") == nil)
            let audit = try await store.audit(account: "ci").map(\.action)
            #expect(audit == ["user.rm", "user.expire", "user.disable", "user.label", "user.add"])
        }
    }

    /// An update that is partly invalid changes nothing (the admin API's PATCH).
    @Test(arguments: AccountEngine.allCases)
    func aPartlyInvalidUpdateChangesNothing(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addUser("ci", passwordHash: Self.hash, labels: ["team": ["build"]], by: cli)
            let other = PasswordHash.make("another password", cost: 4)
            await #expect(throws: AccountError.self) {
                try await store.updateUser("ci", passwordHash: other, labels: ["bad key!": ["x"]], disabled: true, by: cli)
            }
            let user = try #require(try await store.user("ci"))
            #expect(user.passwordHash == Self.hash && user.labels == ["team": ["build"]] && !user.disabled)
            try await store.updateUser("ci", passwordHash: other, disabled: true, expiry: .some(nil), by: cli)
            let changed = try #require(try await store.user("ci"))
            #expect(changed.passwordHash == other && changed.disabled && changed.labels == ["team": ["build"]])
            #expect(try await store.audit(limit: 1, account: "ci").first?.action == "user.update")
            await #expect(throws: AccountError.notFound("no user ghost")) { try await store.updateUser("ghost", disabled: true, by: cli) }
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func hostileValuesAreStoredLiterallyOrRefusedWithNothingStored(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let sqlish = "x');DROP/--/TABLE/--/berth_users;--"
            try await store.addUser(sqlish, passwordHash: nil, labels: ["q": ["' OR 1=1 --", "\"%_\\"]], by: cli)
            #expect(try await store.user(sqlish)?.labels == ["q": ["' OR 1=1 --", "\"%_\\"]])
            #expect(try await store.users().count == 1)
            let generation = try await store.generation()
            for bad in ["", "a:b", "robot$x", "tab\tname", String(repeating: "a", count: 129), "team*", "a?b", "[ops]", "ali\u{200B}ce", "e\u{202E}ve"] {
                await #expect(throws: AccountError.self) { try await store.addUser(bad, passwordHash: nil, by: cli) }
            }
            await #expect(throws: AccountError.self) { try await store.addUser("ok", passwordHash: "plaintext", by: cli) }
            await #expect(throws: AccountError.self) {
                try await store.addUser("ok", passwordHash: nil, labels: ["k": [String(repeating: "v", count: 300)]], by: cli)
            }
            await #expect(throws: AccountError.self) { try await store.addRule(ACLRule(match: .init(name: "/(unclosed/"), actions: ["pull"]), by: cli) }
            await #expect(throws: AccountError.self) { try await store.addRule(ACLRule(match: .init(ip: "10.0.0.0/99"), actions: ["pull"]), by: cli) }
            await #expect(throws: AccountError.self) { try await store.addRule(ACLRule(match: .init(name: "[a-"), actions: ["pull"]), by: cli) }
            #expect(try await store.generation() == generation)
            #expect(try await store.rules().isEmpty)
            #expect(try await store.users().map(\.name) == [sqlish])
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func rulesKeepTheirOrderThroughInsertsMovesAndRemovals(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            func rule(_ name: String) -> ACLRule { ACLRule(match: .init(name: name), actions: ["pull"], comment: name) }
            try await store.addRule(rule("a"), by: cli)
            try await store.addRule(rule("c"), by: cli)
            try await store.addRule(rule("b"), at: 2, by: cli)
            try await store.addRule(rule("first"), at: 1, by: cli)
            #expect(try await store.rules().map(\.rule.comment) == ["first", "a", "b", "c"])
            #expect(try await store.rules().map(\.position) == [1, 2, 3, 4])
            try await store.moveRule(from: 1, to: 4, by: cli)
            #expect(try await store.rules().map(\.rule.comment) == ["a", "b", "c", "first"])
            try await store.removeRule(at: 2, by: cli)
            #expect(try await store.rules().map(\.rule.comment) == ["a", "c", "first"])
            try await store.replaceRule(at: 2, with: rule("C"), expiresAt: nil, by: cli)
            #expect(try await store.rules().map(\.rule.comment) == ["a", "C", "first"])
            await #expect(throws: AccountError.self) { try await store.moveRule(from: 9, to: 1, by: cli) }
            await #expect(throws: AccountError.self) { try await store.removeRule(at: 0, by: cli) }
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func robotSecretsAreShownOnceAndKeptHashed(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let (robot, secret) = try await store.addRobot("ci", repositories: ["ci/*"], actions: ["push", "pull"], by: cli)
            #expect(robot.account == "robot$ci" && secret.hasPrefix("berth_") && secret.count == 46)
            let stored = try #require(try await store.robots().first)
            #expect(stored.secretHash != secret && !stored.secretHash.contains(secret) && stored.actions == ["pull", "push"])
            let rotated = try await store.rotateRobot("ci", by: cli)
            #expect(rotated != secret)
            #expect(try await store.robots().first?.secretHash != stored.secretHash)
            await #expect(throws: AccountError.self) { try await store.addRobot("Bad Name", repositories: ["x"], actions: ["pull"], by: cli) }
            await #expect(throws: AccountError.self) { try await store.addRobot("x", repositories: ["x"], actions: ["admin"], by: cli) }
            await #expect(throws: AccountError.self) { try await store.addRobot("ci", repositories: ["x"], actions: ["pull"], by: cli) }
            try await store.removeRobot("ci", by: cli)
            #expect(try await store.robots().isEmpty)
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func bootstrapHappensOnceEvenWhenStartsRace(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, location in
            let second = try await AccountStore.open(location, logger: testLogger)
            async let one = store.bootstrap(admin: "admin", passwordHash: Self.hash, by: cli)
            async let two = second.bootstrap(admin: "admin", passwordHash: Self.hash, by: cli)
            let results = try await [one, two]
            await second.close()
            #expect(results.filter { $0 }.count == 1)
            #expect(try await store.users().map(\.name) == ["admin"])
            #expect(try await store.rules().count == 1)
        }
    }

    @Test(arguments: AccountEngine.allCases)
    func migrationsAreSafeWhenSeveralProcessesStartAtOnce(_ engine: AccountEngine) async throws {
        for _ in 0..<Self.openRaceRounds {
            guard let location = try engine.makeLocation() else { return }
            defer { removeFiles(of: location) }
            // Every open is awaited (none cancelled by another's failure), and every store that
            // opened is closed, so a failure is reported as what it was.
            let opened = await withTaskGroup(of: Result<AccountStore, any Error>.self) { group in
                for _ in 0..<4 { group.addTask {
                    do { return .success(try await AccountStore.open(location, logger: testLogger)) } catch { return .failure(error) }
                } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let stores = opened.compactMap { try? $0.get() }
            for case .failure(let error) in opened { Issue.record("an open beside three others failed: \(error)") }
            if stores.count == 4 {
                try await stores[0].addUser("x", passwordHash: nil, by: cli)
                #expect(try await stores[3].user("x") != nil)
            }
            for store in stores { await store.close() }
        }
    }

    static let openRaceRounds = 20

    @Test(arguments: AccountEngine.allCases)
    func loginsAreRecordedWithoutChangingTheGeneration(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let generation = try await store.generation()
            try await store.record([AuditEntry(actor: "ci", action: "login", target: "ci", address: "10.0.0.1", success: false, detail: "wrong password")])
            #expect(try await store.generation() == generation)
            let entry = try #require(try await store.audit(action: "login").first)
            #expect(entry.actor == "ci" && !entry.success && entry.address == "10.0.0.1")
            #expect(try await store.audit(account: "nobody").isEmpty)
        }
    }
}
