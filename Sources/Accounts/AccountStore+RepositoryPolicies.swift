import Auth
import Foundation
import SQLKit

extension AccountStore {
    public static let policySettingLimit = 16_384

    public func repositoryPolicies() async throws -> [RepositoryPolicyRecord] {
        try await database.read { try await Self.repositoryPolicies($0) }
    }

    /// Adds a policy (its settings checked by the caller, who knows the kind); one of the kind
    /// with the same values of the `identity` settings is replaced in the same change.
    public func addRepositoryPolicy(kind: String, spec: [String: String], comment: String?, identity: [String] = [],
                                    by actor: AuditActor) async throws -> RepositoryPolicyRecord {
        guard !kind.isEmpty, kind.utf8.count <= 32 else { throw AccountError.invalid("a policy's kind has 1 to 32 characters") }
        guard spec.count <= 16 else { throw AccountError.invalid("a policy has at most 16 settings") }
        if let long = spec.keys.sorted().first(where: { $0.utf8.count > 64 }) {
            throw AccountError.invalid("setting \(long.prefix(64))…: setting names have at most 64 characters")
        }
        // Room for a few dozen PEM public keys in one `signed` policy's key setting.
        if let long = spec.keys.sorted().first(where: { spec[$0]!.utf8.count > Self.policySettingLimit }) {
            throw AccountError.invalid("setting \(long) has \(spec[long]!.utf8.count) characters: at most \(Self.policySettingLimit)")
        }
        if let comment, comment.utf8.count > 1024 { throw AccountError.invalid("comments have at most 1024 characters") }
        let record = RepositoryPolicyRecord(id: RobotSecret.randomCharacters(10).lowercased(), kind: kind, spec: spec, comment: comment,
                                            createdAt: Date())
        let specJSON = try StoredJSON.encode(spec)
        let entry = AuditEntry(actor: actor.name, action: "policy.add", target: kind, address: actor.address, detail: record.summary)
        try await change(entry) { sql in
            let existing = try await Self.repositoryPolicies(sql)
            guard existing.count < 1000 else { throw AccountError.invalid("at most 1000 policies") }
            if !identity.isEmpty {
                for same in existing where same.kind == kind && identity.allSatisfy({ same.spec[$0] == spec[$0] }) {
                    try await sql.raw("DELETE FROM berth_repository_policies WHERE id = \(bind: same.id)").run()
                }
            }
            try await sql.raw("""
                INSERT INTO berth_repository_policies (id, kind, spec, comment, created_at)
                VALUES (\(bind: record.id), \(bind: kind), \(bind: specJSON), \(bind: comment), \(bind: record.createdAt.storedMilliseconds))
                """).run()
        }
        return record
    }

    /// Removes the `number`th policy of `kind` (from 1, in `berth policy ls` order), or the one with that id.
    public func removeRepositoryPolicy(kind: String, _ which: String, by actor: AuditActor) async throws -> RepositoryPolicyRecord {
        let entry = AuditEntry(actor: actor.name, action: "policy.rm", target: kind, address: actor.address, detail: which)
        return try await change(entry) { sql in
            let ofKind = try await Self.repositoryPolicies(sql).filter { $0.kind == kind }
            let found = Int(which).flatMap { $0 >= 1 && $0 <= ofKind.count ? ofKind[$0 - 1] : nil } ?? ofKind.first { $0.id == which }
            guard let found else { throw AccountError.notFound("there is no \(kind) policy \(which) (berth policy ls lists them)") }
            try await sql.raw("DELETE FROM berth_repository_policies WHERE id = \(bind: found.id)").run()
            return found
        }
    }

    static func repositoryPolicies(_ sql: any SQLDatabase) async throws -> [RepositoryPolicyRecord] {
        try await sql.raw("SELECT * FROM berth_repository_policies ORDER BY created_at, id").all().map { row in
            RepositoryPolicyRecord(id: try row.decode(column: "id", as: String.self), kind: try row.decode(column: "kind", as: String.self),
                                   spec: try row.json("spec", as: [String: String].self),
                                   comment: try row.decode(column: "comment", as: String?.self),
                                   createdAt: try row.date("created_at") ?? Date(timeIntervalSince1970: 0))
        }
    }
}
