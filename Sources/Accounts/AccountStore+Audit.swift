import Auth
import Foundation
import SQLKit

extension AccountStore {
    /// The newest entries first, optionally only those of one actor or target and one action
    /// (a prefix: `user` matches `user.add`, `user.rm`…), and only those older than `before`
    /// (the last entry of the previous page), so a reader can page through everything kept.
    public func audit(limit: Int = 100, account: String? = nil, action: String? = nil, before: AuditCursor? = nil) async throws -> [AuditEntry] {
        let limit = min(max(limit, 1), 10_000)
        let account = account.map(AccountName.canonical)
        return try await database.read { sql in
            var query = SQLQueryString("SELECT * FROM berth_audit WHERE 1 = 1")
            if let before {
                query.appendInterpolation(unsafeRaw: " AND (at < "); query.appendInterpolation(bind: before.at)
                query.appendInterpolation(unsafeRaw: " OR (at = "); query.appendInterpolation(bind: before.at)
                query.appendInterpolation(unsafeRaw: " AND id < "); query.appendInterpolation(bind: before.id)
                query.appendInterpolation(unsafeRaw: "))")
            }
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
                let count = try row.decode(column: "count", as: Int?.self) ?? 1
                entry.count = count == 1 ? nil : count
                return entry
            }
        }
    }

    /// Appends entries that are not changes (logins), adds to the counts of refused logins
    /// already written, and records robots' last use, in one write, without bumping the
    /// generation: they do not change what anyone may do.
    public func record(_ entries: [AuditEntry], increments: [String: Int] = [:], robotsUsed: [String: Date] = [:],
                       tokensUsed: [String: Date] = [:], pulls: [PullDay: Int] = [:]) async throws {
        guard !entries.isEmpty || !increments.isEmpty || !robotsUsed.isEmpty || !tokensUsed.isEmpty || !pulls.isEmpty else { return }
        try await database.transaction { sql in
            for entry in entries { try await Self.insert(entry, into: sql) }
            for (id, count) in increments {
                try await sql.raw("UPDATE berth_audit SET count = count + \(bind: count) WHERE id = \(bind: id)").run()
            }
            // Successful logins reach here at most once a minute per account and address.
            for entry in entries where entry.action == "login" && entry.success && !entry.target.isEmpty {
                let at = entry.at.storedMilliseconds
                try await sql.raw("""
                    UPDATE berth_users SET last_login_at = \(bind: at)
                    WHERE name = \(bind: entry.target) AND (last_login_at IS NULL OR last_login_at < \(bind: at))
                    """).run()
            }
            try await Self.addPulls(pulls, into: sql)
            for (name, date) in robotsUsed {
                try await sql.raw("UPDATE berth_robots SET last_used_at = \(bind: date.storedMilliseconds) WHERE name = \(bind: name)").run()
            }
            for (id, date) in tokensUsed {
                try await sql.raw("UPDATE berth_access_tokens SET last_used_at = \(bind: date.storedMilliseconds) WHERE id = \(bind: id)").run()
            }
        }
    }

    /// Deletes entries older than `maxAge` and all but the newest `maxEntries`.
    public func pruneAudit(_ retention: AuditRetention, now: Date = Date()) async throws {
        try await database.transaction { sql in
            let oldest = now.addingTimeInterval(-retention.maxAge).storedMilliseconds
            try await sql.raw("DELETE FROM berth_audit WHERE at < \(bind: oldest)").run()
            try await sql.raw("DELETE FROM berth_pulls WHERE day < \(bind: PullDay.day(now.addingTimeInterval(-retention.maxAge)))").run()
            // The time of the entry just past the limit; everything older goes (ties too: the
            // limit is a bound, not an exact count).
            if let row = try await sql.raw("SELECT at FROM berth_audit ORDER BY at DESC LIMIT 1 OFFSET \(unsafeRaw: String(retention.maxEntries))").first() {
                let at = try row.decode(column: "at", as: Int64.self)
                try await sql.raw("DELETE FROM berth_audit WHERE at <= \(bind: at)").run()
            }
        }
    }

    static func insert(_ entry: AuditEntry, into sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO berth_audit (id, at, actor, action, target, address, success, detail, count)
            VALUES (\(bind: entry.id), \(bind: entry.at.storedMilliseconds), \(bind: String(entry.actor.prefix(256))),
                    \(bind: entry.action), \(bind: String(entry.target.prefix(256))), \(bind: entry.address),
                    \(bind: entry.success ? 1 : 0), \(bind: entry.detail.map { String($0.prefix(4096)) }), \(bind: entry.count ?? 1))
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

/// Where a page of the audit log ended: the next page starts after it.
public struct AuditCursor: Sendable, Equatable {
    public var at: Int64
    public var id: String

    public init(after entry: AuditEntry) {
        at = entry.at.storedMilliseconds
        id = entry.id
    }

    /// `<milliseconds>-<id>`, as pages link to the next one.
    public init?(_ text: String) {
        guard let dash = text.firstIndex(of: "-"), let at = Int64(text[..<dash]) else { return nil }
        let id = String(text[text.index(after: dash)...])
        guard !id.isEmpty, id.utf8.count <= 64 else { return nil }
        self.at = at
        self.id = id
    }

    public var text: String { "\(at)-\(id)" }
}

/// How much of the audit log is kept (`auth.token.audit`).
public struct AuditRetention: Sendable, Equatable {
    public var maxEntries: Int
    public var maxAge: TimeInterval

    public init(maxEntries: Int = 1_000_000, maxAge: TimeInterval = 365 * 86400) {
        self.maxEntries = maxEntries
        self.maxAge = maxAge
    }
}
