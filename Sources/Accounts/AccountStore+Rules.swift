import Auth
import Foundation
import SQLKit

extension AccountStore {
    public func rules() async throws -> [RuleRecord] {
        try await database.read { try await Self.rules($0) }
    }

    /// Inserts `rule` at `position` (from 1; nil appends) and returns it as stored.
    @discardableResult
    public func addRule(_ rule: ACLRule, at position: Int? = nil, expiresAt: Date? = nil, by actor: AuditActor) async throws -> RuleRecord {
        try Validation.rule(rule)
        let json = try StoredJSON.encode(rule)
        let id = UUID().uuidString.lowercased()
        let now = Date()
        let entry = AuditEntry(actor: actor.name, action: "acl.add", target: position.map { "#\($0)" } ?? "(last)", address: actor.address, detail: json)
        return try await change(entry) { sql in
            var ids = try await Self.rules(sql).map(\.id)
            guard ids.count < 10_000 else { throw AccountError.invalid("at most 10,000 rules") }
            let index = min(max((position ?? ids.count + 1) - 1, 0), ids.count)
            try await sql.raw("""
                INSERT INTO berth_acl (id, position, rule, expires_at, created_at)
                VALUES (\(bind: id), \(bind: index + 1), \(bind: json), \(bind: expiresAt?.storedMilliseconds), \(bind: now.storedMilliseconds))
                """).run()
            ids.insert(id, at: index)
            try await Self.renumber(ids, sql)
            return RuleRecord(id: id, position: index + 1, rule: rule, expiresAt: expiresAt, createdAt: now)
        }
    }

    /// Removes the rule at `position` (from 1).
    public func removeRule(at position: Int, by actor: AuditActor) async throws {
        let entry = AuditEntry(actor: actor.name, action: "acl.rm", target: "#\(position)", address: actor.address)
        try await change(entry) { sql in
            var rules = try await Self.rules(sql)
            guard rules.indices.contains(position - 1) else { throw AccountError.notFound("no rule at position \(position)") }
            let removed = rules.remove(at: position - 1)
            try await sql.raw("DELETE FROM berth_acl WHERE id = \(bind: removed.id)").run()
            try await Self.renumber(rules.map(\.id), sql)
        }
    }

    /// Moves the rule at `from` so that it is evaluated at position `to`.
    public func moveRule(from: Int, to: Int, by actor: AuditActor) async throws {
        let entry = AuditEntry(actor: actor.name, action: "acl.move", target: "#\(from)", address: actor.address, detail: "to #\(to)")
        try await change(entry) { sql in
            var ids = try await Self.rules(sql).map(\.id)
            guard ids.indices.contains(from - 1) else { throw AccountError.notFound("no rule at position \(from)") }
            guard to >= 1, to <= ids.count else { throw AccountError.invalid("position \(to) is outside 1…\(ids.count)") }
            let id = ids.remove(at: from - 1)
            ids.insert(id, at: to - 1)
            try await Self.renumber(ids, sql)
        }
    }

    /// Replaces the rule at `position`, keeping its place.
    public func replaceRule(at position: Int, with rule: ACLRule, expiresAt: Date?, by actor: AuditActor) async throws {
        try Validation.rule(rule)
        let json = try StoredJSON.encode(rule)
        let entry = AuditEntry(actor: actor.name, action: "acl.edit", target: "#\(position)", address: actor.address, detail: json)
        try await change(entry) { sql in
            let rules = try await Self.rules(sql)
            guard rules.indices.contains(position - 1) else { throw AccountError.notFound("no rule at position \(position)") }
            try await sql.raw("UPDATE berth_acl SET rule = \(bind: json), expires_at = \(bind: expiresAt?.storedMilliseconds) WHERE id = \(bind: rules[position - 1].id)").run()
        }
    }

    static func renumber(_ ids: [String], _ sql: any SQLDatabase, from first: Int = 1) async throws {
        for (index, id) in ids.enumerated() {
            try await sql.raw("UPDATE berth_acl SET position = \(bind: index + first) WHERE id = \(bind: id)").run()
        }
    }

    static func rules(_ sql: any SQLDatabase) async throws -> [RuleRecord] {
        try await sql.raw("SELECT * FROM berth_acl ORDER BY position, created_at").all().enumerated().map { index, row in
            RuleRecord(id: try row.decode(column: "id", as: String.self), position: index + 1,
                       rule: try row.json("rule", as: ACLRule.self), expiresAt: try row.date("expires_at"),
                       createdAt: try row.date("created_at") ?? Date(timeIntervalSince1970: 0))
        }
    }
}
