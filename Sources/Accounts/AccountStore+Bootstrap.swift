import Auth
import Foundation
import SQLKit

extension AccountStore {
    /// The rule that makes `admin` an administrator in a new database.
    public static func administratorRule(_ account: String) -> ACLRule {
        ACLRule(match: .init(account: Pattern.literal(account)), actions: ["*"], comment: "built-in administrator")
    }

    /// On a database with no users and no rules: adds the first administrator and its rule in
    /// one write and answers true; otherwise changes nothing (another replica, or an earlier
    /// start, got there first; an operator may have removed the admin on purpose).
    public func bootstrap(admin: String, passwordHash: String, by actor: AuditActor) async throws -> Bool {
        try Validation.userName(admin)
        try Validation.passwordHash(passwordHash)
        let rule = try StoredJSON.encode(Self.administratorRule(admin))
        return try await database.transaction { sql in
            let users = try await sql.raw("SELECT COUNT(*) AS n FROM berth_users").first()?.decode(column: "n", as: Int.self) ?? 0
            let rules = try await sql.raw("SELECT COUNT(*) AS n FROM berth_acl").first()?.decode(column: "n", as: Int.self) ?? 0
            guard users == 0, rules == 0 else { return false }
            let now = Date().storedMilliseconds
            try await sql.raw("""
                INSERT INTO berth_users (name, password_hash, labels, disabled, expires_at, created_at, updated_at)
                VALUES (\(bind: admin), \(bind: passwordHash), '{}', 0, NULL, \(bind: now), \(bind: now))
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
