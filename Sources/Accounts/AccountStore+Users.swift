import Auth
import Foundation
import SQLKit

extension AccountStore {
    public func users() async throws -> [UserRecord] {
        try await database.read { try await Self.users($0) }
    }

    public func user(_ name: String) async throws -> UserRecord? {
        let name = AccountName.canonical(name)
        return try await database.read { sql in
            try await sql.raw("SELECT * FROM berth_users WHERE name = \(bind: name)").first().map(Self.user)
        }
    }

    /// `passwordHash` is bcrypt; use `PasswordHash.make` for a password typed by a person.
    public func addUser(_ name: String, passwordHash: String?, labels: [String: [String]] = [:], expiresAt: Date? = nil,
                        by actor: AuditActor) async throws {
        let name = AccountName.canonical(name)
        try Validation.userName(name)
        try Validation.passwordHash(passwordHash)
        try Validation.labels(labels)
        let now = Date().storedMilliseconds
        let labelsJSON = try StoredJSON.encode(labels)
        let entry = AuditEntry(actor: actor.name, action: "user.add", target: name, address: actor.address,
                               detail: labels.isEmpty ? nil : "labels \(labelsJSON)")
        try await change(entry) { sql in
            if try await sql.raw("SELECT name FROM berth_users WHERE name = \(bind: name)").first() != nil {
                throw AccountError.conflict("user \(name) exists")
            }
            try await sql.raw("""
                INSERT INTO berth_users (name, password_hash, labels, disabled, expires_at, created_at, updated_at)
                VALUES (\(bind: name), \(bind: passwordHash), \(bind: labelsJSON), 0, \(bind: expiresAt?.storedMilliseconds), \(bind: now), \(bind: now))
                """).run()
        }
    }

    public func setPassword(_ name: String, passwordHash: String, by actor: AuditActor) async throws {
        let name = AccountName.canonical(name)
        try Validation.passwordHash(passwordHash)
        try await updateUser(name, action: "user.passwd", detail: nil, by: actor) { sql, now in
            try await sql.raw("UPDATE berth_users SET password_hash = \(bind: passwordHash), updated_at = \(bind: now) WHERE name = \(bind: name)").run()
            try await Self.revokeCredentials(of: name, in: "berth_users", account: name, sql, now: now)
        }
    }

    /// Replaces every label of the account.
    public func setLabels(_ name: String, _ labels: [String: [String]], by actor: AuditActor) async throws {
        let name = AccountName.canonical(name)
        try Validation.labels(labels)
        let json = try StoredJSON.encode(labels)
        try await updateUser(name, action: "user.label", detail: json, by: actor) { sql, now in
            try await sql.raw("UPDATE berth_users SET labels = \(bind: json), updated_at = \(bind: now) WHERE name = \(bind: name)").run()
        }
    }

    public func setDisabled(_ name: String, _ disabled: Bool, by actor: AuditActor) async throws {
        let name = AccountName.canonical(name)
        try await updateUser(name, action: disabled ? "user.disable" : "user.enable", detail: nil, by: actor) { sql, now in
            try await sql.raw("UPDATE berth_users SET disabled = \(bind: disabled ? 1 : 0), updated_at = \(bind: now) WHERE name = \(bind: name)").run()
            try await Self.revokeCredentials(of: name, in: "berth_users", account: name, sql, now: now)
        }
    }

    /// nil: the account never expires.
    public func setExpiry(_ name: String, _ expiresAt: Date?, by actor: AuditActor) async throws {
        let name = AccountName.canonical(name)
        let detail = expiresAt.map { ISO8601DateFormatter().string(from: $0) } ?? "never"
        try await updateUser(name, action: "user.expire", detail: detail, by: actor) { sql, now in
            try await sql.raw("UPDATE berth_users SET expires_at = \(bind: expiresAt?.storedMilliseconds), updated_at = \(bind: now) WHERE name = \(bind: name)").run()
        }
    }

    /// Several changes to one account at once: all are checked first and written in one
    /// transaction, so a request that is half invalid changes nothing. `expiry` nil leaves the
    /// expiry as it is; `.some(nil)` removes it.
    public func updateUser(_ name: String, passwordHash: String? = nil, labels: [String: [String]]? = nil, disabled: Bool? = nil,
                           expiry: Date?? = nil, by actor: AuditActor) async throws {
        let name = AccountName.canonical(name)
        try Validation.passwordHash(passwordHash)
        if let labels { try Validation.labels(labels) }
        let labelsJSON = try labels.map(StoredJSON.encode)
        // One field changed is audited as its own action (user.disable…), several as user.update.
        var fields: [(action: String, detail: String)] = []
        if passwordHash != nil { fields.append(("user.passwd", "password")) }
        if let labelsJSON { fields.append(("user.label", "labels \(labelsJSON)")) }
        if let disabled { fields.append((disabled ? "user.disable" : "user.enable", disabled ? "disabled" : "enabled")) }
        if let expiry { fields.append(("user.expire", "expires \(expiry.map { ISO8601DateFormatter().string(from: $0) } ?? "never")")) }
        guard !fields.isEmpty else { return }
        let action = fields.count == 1 ? fields[0].action : "user.update"
        try await updateUser(name, action: action, detail: fields.map(\.detail).joined(separator: "; "), by: actor) { sql, now in
            if let passwordHash {
                try await sql.raw("UPDATE berth_users SET password_hash = \(bind: passwordHash) WHERE name = \(bind: name)").run()
            }
            if let labelsJSON {
                try await sql.raw("UPDATE berth_users SET labels = \(bind: labelsJSON) WHERE name = \(bind: name)").run()
            }
            if let disabled {
                try await sql.raw("UPDATE berth_users SET disabled = \(bind: disabled ? 1 : 0) WHERE name = \(bind: name)").run()
            }
            if let expiry {
                try await sql.raw("UPDATE berth_users SET expires_at = \(bind: expiry?.storedMilliseconds) WHERE name = \(bind: name)").run()
            }
            try await sql.raw("UPDATE berth_users SET updated_at = \(bind: now) WHERE name = \(bind: name)").run()
            if passwordHash != nil || disabled != nil {
                try await Self.revokeCredentials(of: name, in: "berth_users", account: name, sql, now: now)
            }
        }
    }

    public func removeUser(_ name: String, by actor: AuditActor) async throws {
        let name = AccountName.canonical(name)
        try await updateUser(name, action: "user.rm", detail: nil, by: actor) { sql, _ in
            try await sql.raw("DELETE FROM berth_users WHERE name = \(bind: name)").run()
            try await sql.raw("DELETE FROM berth_refresh_tokens WHERE account = \(bind: name)").run()
            try await sql.raw("DELETE FROM berth_access_tokens WHERE account = \(bind: name)").run()
            // A name created again later is not bound to the provider identity of this one.
            try await sql.raw("DELETE FROM berth_federated WHERE account = \(bind: name)").run()
        }
    }

    private func updateUser(_ name: String, action: String, detail: String?, by actor: AuditActor,
                            _ body: @escaping @Sendable (any SQLDatabase, Int64) async throws -> Void) async throws {
        let entry = AuditEntry(actor: actor.name, action: action, target: name, address: actor.address, detail: detail)
        try await change(entry) { sql in
            guard try await sql.raw("SELECT name FROM berth_users WHERE name = \(bind: name)").first() != nil else {
                throw AccountError.notFound("no user \(name)")
            }
            try await body(sql, Date().storedMilliseconds)
        }
    }

    static func users(_ sql: any SQLDatabase) async throws -> [UserRecord] {
        try await sql.raw("SELECT * FROM berth_users ORDER BY name").all().map(user)
    }

    static func user(_ row: any SQLRow) throws -> UserRecord {
        UserRecord(name: try row.decode(column: "name", as: String.self),
                   passwordHash: try row.decode(column: "password_hash", as: String?.self),
                   labels: try row.json("labels", as: [String: [String]].self),
                   disabled: try row.decode(column: "disabled", as: Int.self) != 0,
                   expiresAt: try row.date("expires_at"),
                   createdAt: try row.date("created_at") ?? Date(timeIntervalSince1970: 0),
                   updatedAt: try row.date("updated_at") ?? Date(timeIntervalSince1970: 0),
                   validSince: try row.date("valid_since"),
                   lastLoginAt: try row.date("last_login_at"))
    }
}

extension AccountStore {
    /// A password typed by a person, checked against the store's rules (8 to 72 bytes: bcrypt
    /// ignores the rest) and hashed with bcrypt off the event loop.
    public static func hashPassword(_ password: String, cost: UInt8 = 10) async throws -> String {
        try Validation.password(password)
        return try await PasswordHash.makeOffLoop(password, cost: cost)
    }
}
