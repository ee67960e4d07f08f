import Accounts
import Crypto
import Foundation
import Logging
import Policies
import Testing

/// What `PolicyKinds.add` stores, whichever front door (CLI, admin API, web form) called it.
@Suite struct PolicyStorageTests {
    let actor = AuditActor("cli:test")

    func withAccounts(_ body: (AccountStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-policies-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await AccountStore.open(.sqlite(path: directory.appendingPathComponent("accounts.sqlite").path),
                                                logger: Logger(label: "policies-tests"))
        do { try await body(store) } catch { await store.close(); throw error }
        await store.close()
    }

    @Test func aQuotaSizeIsStoredInBytesHoweverItWasWritten() async throws {
        try await withAccounts { accounts in
            let added = try await PolicyKinds.add(kind: "quota", spec: ["namespace": "team", "size": "10GiB"], comment: nil, to: accounts, by: actor)
            #expect(added.spec["size"] == String(10 << 30))
            // The same namespace again replaces the first.
            _ = try await PolicyKinds.add(kind: "quota", spec: ["namespace": "team", "size": "500MB"], comment: nil, to: accounts, by: actor)
            #expect(try await accounts.repositoryPolicies().map { $0.spec["size"] } == ["500000000"])
        }
    }

    @Test func aSignedPolicyTakesManyKeysAndATooLongSettingIsNamed() async throws {
        try await withAccounts { accounts in
            let keys = (0..<40).map { _ in P256.Signing.PrivateKey().publicKey.pemRepresentation }.joined(separator: "\n")
            #expect(keys.utf8.count > 1024)
            let added = try await PolicyKinds.add(kind: "signed", spec: ["name": "prod/*", "key": keys], comment: nil, to: accounts, by: actor)
            #expect(try SignatureKeys(pem: added.spec["key"]!).count == 40)

            let tooMany = String(repeating: keys + "\n", count: 3)
            do {
                _ = try await PolicyKinds.add(kind: "signed", spec: ["name": "prod/*", "key": tooMany], comment: nil, to: accounts, by: actor)
                Issue.record("a key setting of \(tooMany.utf8.count) characters was stored")
            } catch {
                #expect("\(error)".contains("setting key has \(tooMany.utf8.count) characters: at most 16384"), "\(error)")
            }
        }
    }
}
