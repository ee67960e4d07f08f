import Foundation
import SQLKit

extension AccountStore {
    /// Takes the scheduled job `name` for `replica` when it last ran at least `interval` ago
    /// (or never): true for exactly one of the replicas asking at once.
    public func claimJob(_ name: String, interval: TimeInterval, replica: String, now: Date = Date()) async throws -> Bool {
        let at = now.storedMilliseconds
        let due = now.addingTimeInterval(-interval).storedMilliseconds
        return try await database.transaction { sql in
            try await sql.raw("""
                INSERT INTO berth_jobs (name, ran_at, claimed_by) VALUES (\(bind: name), 0, NULL) ON CONFLICT (name) DO NOTHING
                """).run()
            try await sql.raw("""
                UPDATE berth_jobs SET ran_at = \(bind: at), claimed_by = \(bind: replica)
                WHERE name = \(bind: name) AND ran_at <= \(bind: due)
                """).run()
            let row = try await sql.raw("SELECT ran_at, claimed_by FROM berth_jobs WHERE name = \(bind: name)").first()
            return try row?.decode(column: "claimed_by", as: String?.self) == replica && row?.decode(column: "ran_at", as: Int64.self) == at
        }
    }
}
