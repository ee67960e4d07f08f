import Accounts
import Auth
import Foundation
import Testing

/// Every credential change moves the account's valid-since past its previous value and
/// takes its refresh tokens and sessions with it, on every engine.
@Suite struct CredentialChangeSuite {
    @Test(arguments: AccountEngine.allCases)
    func changesMoveValidSinceAndRevokeTokens(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            let hash = PasswordHash.make("first password", cost: 4)
            try await store.addUser("carol", passwordHash: hash, by: cli)
            let created = try #require(try await store.user("carol")).credentialsValidSince
            func token(_ account: String) async throws {
                try await store.save(RefreshTokenRecord(account: account, issuedAt: Date(), clientID: "docker"), id: RefreshTokens.id(of: UUID().uuidString))
            }
            var previous = created
            for change in ["password", "disable", "enable", "revoke"] {
                try await token("carol")
                try await token("dave")
                switch change {
                case "password": try await store.setPassword("carol", passwordHash: PasswordHash.make("second password", cost: 4), by: cli)
                case "disable": try await store.setDisabled("carol", true, by: cli)
                case "enable": try await store.updateUser("carol", disabled: false, by: cli)
                default: _ = try await store.revokeRefreshTokens(account: "carol", by: cli)
                }
                let now = try #require(try await store.user("carol")).credentialsValidSince
                #expect(now > previous, "\(change)")
                previous = now
                #expect(try await store.refreshTokens(account: "carol").isEmpty, "\(change)")
            }
            #expect(try await store.refreshTokens(account: "dave").count == 4)
            // Labels and expiry are not credentials.
            try await store.setLabels("carol", ["team": ["a"]], by: cli)
            #expect(try #require(try await store.user("carol")).credentialsValidSince == previous)

            let (robot, _) = try await store.addRobot("ci", repositories: ["*"], actions: ["pull"], by: cli)
            try await token("robot$ci")
            _ = try await store.rotateRobot("ci", by: cli)
            let rotated = try #require(try await store.robots().first { $0.name == "ci" })
            #expect(rotated.credentialsValidSince > robot.createdAt)
            #expect(try await store.refreshTokens(account: "robot$ci").isEmpty)

            // The token records the value it was issued under.
            let id = RefreshTokens.id(of: "brt_x")
            try await store.save(RefreshTokenRecord(account: "carol", issuedAt: Date(), clientID: "docker", validSince: previous), id: id)
            #expect(try await store.load(id: id)?.validSince == previous)
        }
    }
}

@Suite struct LastAdministratorSuite {
    @Test(arguments: AccountEngine.allCases)
    func theLastAdministratorCannotGoByAccident(_ engine: AccountEngine) async throws {
        try await withStore(engine) { store, _ in
            try await store.addUser("root", passwordHash: nil, by: cli)
            try await store.addUser("ops", passwordHash: nil, labels: ["group": ["admins"]], by: cli)
            _ = try await store.addRule(ACLRule(match: .init(account: "root"), actions: ["*"]), by: cli)
            let generation = try await store.generation()
            for attempt in ["remove", "disable", "expire", "rule"] {
                await #expect(throws: AccountError.self, "\(attempt)") {
                    switch attempt {
                    case "remove": try await store.removeUser("root", by: cli)
                    case "disable": try await store.setDisabled("root", true, by: cli)
                    case "expire": try await store.setExpiry("root", Date(timeIntervalSince1970: 0), by: cli)
                    default: try await store.removeRule(at: 1, by: cli)
                    }
                }
            }
            // A deny rule for everyone put first would lock the admin out too.
            await #expect(throws: AccountError.self) {
                _ = try await store.addRule(ACLRule(match: .init(account: "*"), actions: []), at: 1, by: cli)
            }
            #expect(try await store.generation() == generation)
            // Once another account is an administrator, the first may go.
            _ = try await store.addRule(ACLRule(match: .init(labels: ["group": "admins"]), actions: ["*"]), by: cli)
            try await store.removeUser("root", by: cli)
            #expect(try await store.user("root") == nil)
        }
    }
}
