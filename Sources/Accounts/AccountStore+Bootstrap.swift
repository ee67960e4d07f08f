import Auth
import Foundation
import SQLKit

extension AccountStore {
    /// The rule that makes `admin` an administrator in a new database.
    public static func administratorRule(_ account: String) -> ACLRule {
        ACLRule(match: .init(account: Pattern.literal(account)), actions: ["*"], comment: "built-in administrator")
    }

    /// Once per database, unless the account exists already: adds the first administrator
    /// and its rule (first in the list) in one write and answers true; otherwise changes
    /// nothing (another replica, or an earlier start, got there first; an operator who
    /// removed the admin on purpose does not get it back).
    /// `createdAt`: when the account came to be (for one migrated from before the database,
    /// earlier than the refresh tokens it already has, which it keeps).
    public func bootstrap(admin: String, passwordHash: String, createdAt: Date = Date(), by actor: AuditActor) async throws -> Bool {
        try Validation.userName(admin)
        try Validation.passwordHash(passwordHash)
        let rule = try StoredJSON.encode(Self.administratorRule(admin))
        return try await database.transaction { sql in
            let done = try await sql.raw("SELECT COUNT(*) AS n FROM berth_audit WHERE action = 'bootstrap'").first()?.decode(column: "n", as: Int.self) ?? 0
            let existing = try await sql.raw("SELECT name FROM berth_users WHERE name = \(bind: admin)").first()
            guard done == 0, existing == nil else { return false }
            let ids = try await Self.rules(sql).map(\.id)
            try await Self.renumber(ids, sql, from: 2)
            let now = Date().storedMilliseconds
            try await sql.raw("""
                INSERT INTO berth_users (name, password_hash, labels, disabled, expires_at, created_at, updated_at)
                VALUES (\(bind: admin), \(bind: passwordHash), '{}', 0, NULL, \(bind: createdAt.storedMilliseconds), \(bind: now))
                """).run()
            try await sql.raw("""
                INSERT INTO berth_acl (id, position, rule, expires_at, created_at)
                VALUES (\(bind: UUID().uuidString.lowercased()), 1, \(bind: rule), NULL, \(bind: now))
                """).run()
            try await sql.raw("UPDATE berth_generation SET value = value + 1 WHERE id = 1").run()
            try await Self.insert(AuditEntry(actor: actor.name, action: "bootstrap", target: admin, address: actor.address), into: sql)
            return true
        }
    }
}
