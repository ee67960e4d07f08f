import Foundation
import SQLKit

extension AccountStore {
    /// The newest entries first, optionally only those of one actor or target and one action
    /// (a prefix: `user` matches `user.add`, `user.rm`…).
    public func audit(limit: Int = 100, account: String? = nil, action: String? = nil) async throws -> [AuditEntry] {
        let limit = min(max(limit, 1), 10_000)
        return try await database.read { sql in
            var query = SQLQueryString("SELECT * FROM berth_audit WHERE 1 = 1")
            if let account { query.appendInterpolation(unsafeRaw: " AND (actor = "); query.appendInterpolation(bind: account)
                query.appendInterpolation(unsafeRaw: " OR target = "); query.appendInterpolation(bind: account); query.appendInterpolation(unsafeRaw: ")") }
            if let action {
                query.appendInterpolation(unsafeRaw: " AND (action = "); query.appendInterpolation(bind: action)
                query.appendInterpolation(unsafeRaw: " OR action LIKE "); query.appendInterpolation(bind: Self.likePrefix(action + "."))
                query.appendInterpolation(unsafeRaw: " ESCAPE '\\')")
            }
            query.appendInterpolation(unsafeRaw: " ORDER BY at DESC, id DESC LIMIT \(limit)")
            return try await sql.raw(query).all().map { row in
                var entry = AuditEntry(actor: try row.decode(column: "actor", as: String.self),
                                       action: try row.decode(column: "action", as: String.self),
                                       target: try row.decode(column: "target", as: String.self),
                                       address: try row.decode(column: "address", as: String?.self),
                                       success: try row.decode(column: "success", as: Int.self) != 0,
                                       detail: try row.decode(column: "detail", as: String?.self),
                                       at: try row.date("at") ?? Date(timeIntervalSince1970: 0))
                entry.id = try row.decode(column: "id", as: String.self)
                return entry
            }
        }
    }

    /// Appends entries that are not changes (logins) and robots' last use, in one write,
    /// without bumping the generation: they do not change what anyone may do.
    public func record(_ entries: [AuditEntry], robotsUsed: [String: Date] = [:]) async throws {
        guard !entries.isEmpty || !robotsUsed.isEmpty else { return }
        try await database.transaction { sql in
            for entry in entries { try await Self.insert(entry, into: sql) }
            for (name, date) in robotsUsed {
                try await sql.raw("UPDATE berth_robots SET last_used_at = \(bind: date.storedMilliseconds) WHERE name = \(bind: name)").run()
            }
        }
    }

    static func insert(_ entry: AuditEntry, into sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO berth_audit (id, at, actor, action, target, address, success, detail)
            VALUES (\(bind: entry.id), \(bind: entry.at.storedMilliseconds), \(bind: String(entry.actor.prefix(256))),
                    \(bind: entry.action), \(bind: String(entry.target.prefix(256))), \(bind: entry.address),
                    \(bind: entry.success ? 1 : 0), \(bind: entry.detail.map { String($0.prefix(4096)) }))
            """).run()
    }

    static func likePrefix(_ prefix: String) -> String {
        var escaped = ""
        for c in prefix {
            if c == "%" || c == "_" || c == "\\" { escaped.append("\\") }
            escaped.append(c)
        }
        return escaped + "%"
    }
}
