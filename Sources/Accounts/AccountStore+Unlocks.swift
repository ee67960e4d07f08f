import Auth
import Foundation
import SQLKit

extension AccountStore {
    /// Clears the account's failed logins on every replica (they read it with the next
    /// snapshot): the failed-login limiter ignores failures from before now.
    public func unlock(_ account: String, by actor: AuditActor) async throws {
        let account = AccountName.canonical(account)
        let entry = AuditEntry(actor: actor.name, action: "user.unlock", target: account, address: actor.address)
        let now = Date().storedMilliseconds
        try await change(entry) { sql in
            try await sql.raw("DELETE FROM berth_unlocks WHERE account = \(bind: account)").run()
            try await sql.raw("INSERT INTO berth_unlocks (account, at) VALUES (\(bind: account), \(bind: now))").run()
        }
    }

    static func unlocks(_ sql: any SQLDatabase) async throws -> [String: Date] {
        var out: [String: Date] = [:]
        for row in try await sql.raw("SELECT account, at FROM berth_unlocks").all() {
            out[try row.decode(column: "account", as: String.self)] = try row.date("at")
        }
        return out
    }
}
