import Foundation
import SQLKit

extension AccountStore {
    /// A server whose report is older than this is taken for gone.
    public static let replicaLiveness: TimeInterval = 15

    /// Records that server `id` now decides from `generation`.
    public func reportApplied(replica id: String, generation: Int64, now: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.raw("DELETE FROM berth_replicas WHERE id = \(bind: id) OR seen_at < \(bind: now.addingTimeInterval(-3600).storedMilliseconds)").run()
            try await sql.raw("INSERT INTO berth_replicas (id, generation, seen_at) VALUES (\(bind: id), \(bind: generation), \(bind: now.storedMilliseconds))").run()
        }
    }

    public func forgetReplica(_ id: String) async throws {
        try await database.transaction { sql in try await sql.raw("DELETE FROM berth_replicas WHERE id = \(bind: id)").run() }
    }

    /// The running servers (those that reported lately) that have not yet applied `generation`.
    public func replicasBehind(_ generation: Int64, now: Date = Date()) async throws -> Int {
        let live = now.addingTimeInterval(-Self.replicaLiveness).storedMilliseconds
        return try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS behind FROM berth_replicas WHERE seen_at >= \(bind: live) AND generation < \(bind: generation)")
                .first()?.decode(column: "behind", as: Int.self) ?? 0
        }
    }

    /// Waits until every running server has applied the store's current generation (a change
    /// just made), at most `limit`; false when one had not by then.
    public func waitUntilApplied(limit: Duration = .seconds(5)) async throws -> Bool {
        let generation = try await self.generation()
        let deadline = ContinuousClock.now + limit
        while try await replicasBehind(generation) > 0 {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
        return true
    }
}
