import Auth
import Foundation
import SQLKit

extension AccountStore {
    /// Changes that can take `registry:admin:*` away from someone.
    static func mayRemoveAdministrators(_ action: String) -> Bool {
        action.hasPrefix("acl.") || (action.hasPrefix("user.") && !["user.add", "user.passwd", "user.unlock"].contains(action))
    }

    /// The active users the database's rules make administrators (`registry:admin:*`).
    static func administrators(_ sql: any SQLDatabase, now: Date = Date()) async throws -> Set<String> {
        let snapshot = try AccountSnapshot(generation: 0, users: try await users(sql), rules: try await rules(sql), robots: [])
        return snapshot.administrators(at: now)
    }
}

extension AccountSnapshot {
    /// Active users granted `registry:admin:*` by the database's rules (rules of a file or of
    /// ext_authz are not seen here).
    public func administrators(at now: Date = Date()) -> Set<String> {
        Set(users.values.filter { user in
            guard user.isActive(at: now) else { return false }
            let request = AccessRequest(account: user.name, labels: user.labels, type: "registry", name: "admin",
                                        service: "", actions: ["*"])
            return decision(request, at: now)?.actions.contains("*") == true
        }.map(\.name))
    }
}
