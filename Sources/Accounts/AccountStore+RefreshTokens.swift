import Auth
import Foundation
import SQLKit

/// Refresh tokens (what `docker login` keeps as its identity token) beside the accounts
/// they belong to, so replicas sharing the database honour and revoke the same ones. Only
/// the SHA-256 of a token is stored.
extension AccountStore: RefreshTokenStore {
    public func save(_ record: RefreshTokenRecord, id: String) async throws {
        let labels = try record.labels.map(StoredJSON.encode)
        try await database.transaction { sql in
            try await sql.raw("""
                INSERT INTO berth_refresh_tokens (id, account, issued_at, client_id, labels, valid_since)
                VALUES (\(bind: id), \(bind: record.account), \(bind: record.issuedAt.storedMilliseconds), \(bind: record.clientID),
                        \(bind: labels), \(bind: record.validSince?.storedMilliseconds))
                """).run()
        }
    }

    public func load(id: String) async throws -> RefreshTokenRecord? {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM berth_refresh_tokens WHERE id = \(bind: id)").first().map(Self.refreshToken)?.record
        }
    }

    public func delete(id: String) async throws {
        try await database.transaction { sql in
            try await sql.raw("DELETE FROM berth_refresh_tokens WHERE id = \(bind: id)").run()
        }
    }

    /// Every refresh token of `account` (of all accounts when nil), newest first.
    public func refreshTokens(account: String? = nil) async throws -> [RefreshTokenView] {
        let account = account.map(AccountName.canonical)
        return try await database.read { sql in
            let rows = if let account {
                try await sql.raw("SELECT * FROM berth_refresh_tokens WHERE account = \(bind: account) ORDER BY issued_at DESC, id").all()
            } else {
                try await sql.raw("SELECT * FROM berth_refresh_tokens ORDER BY account, issued_at DESC, id").all()
            }
            return try rows.map { RefreshTokenView(try Self.refreshToken($0)) }
        }
    }

    /// Revokes the account's tokens, or the one whose id starts with `idPrefix` (at least 8
    /// characters, and it must name exactly one). Returns how many went. Revoking all of them
    /// is "sign out everywhere": web sessions end too, and a token or session issued on a
    /// replica that had not yet seen the change is refused as well (its valid-since moves).
    public func revokeRefreshTokens(account: String, idPrefix: String? = nil, by actor: AuditActor) async throws -> Int {
        let account = AccountName.canonical(account)
        if let idPrefix {
            guard idPrefix.utf8.count >= 8, idPrefix.utf8.count <= 64,
                  idPrefix.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
                throw AccountError.invalid("a token id is 8 to 64 lower-case hexadecimal characters")
            }
        }
        let entry = AuditEntry(actor: actor.name, action: "token.revoke", target: account, address: actor.address,
                               detail: idPrefix.map { "id \($0)" } ?? "all")
        return try await change(entry) { sql in
            let ids = try await sql.raw("SELECT id FROM berth_refresh_tokens WHERE account = \(bind: account)").all()
                .map { try $0.decode(column: "id", as: String.self) }
                .filter { id in idPrefix.map { id.hasPrefix($0) } ?? true }
            if idPrefix != nil {
                guard !ids.isEmpty else { throw AccountError.notFound("\(account) has no refresh token \(idPrefix!)") }
                guard ids.count == 1 else { throw AccountError.invalid("\(idPrefix!) names \(ids.count) tokens; give more of the id") }
            }
            for id in ids { try await sql.raw("DELETE FROM berth_refresh_tokens WHERE id = \(bind: id)").run() }
            if idPrefix == nil { try await Self.revokeCredentials(ofAccount: account, sql, now: Date().storedMilliseconds) }
            return ids.count
        }
    }

    /// Tokens kept elsewhere before (files in the registry's storage) moved in; ones already
    /// here are left as they are.
    public func importRefreshTokens(_ tokens: [(id: String, record: RefreshTokenRecord)]) async throws {
        guard !tokens.isEmpty else { return }
        try await database.transaction { sql in
            for (id, record) in tokens {
                guard try await sql.raw("SELECT id FROM berth_refresh_tokens WHERE id = \(bind: id)").first() == nil else { continue }
                let labels = try record.labels.map(StoredJSON.encode)
                try await sql.raw("""
                    INSERT INTO berth_refresh_tokens (id, account, issued_at, client_id, labels, valid_since)
                    VALUES (\(bind: id), \(bind: record.account), \(bind: record.issuedAt.storedMilliseconds), \(bind: record.clientID),
                            \(bind: labels), \(bind: record.validSince?.storedMilliseconds))
                    """).run()
            }
        }
    }

    static func refreshToken(_ row: any SQLRow) throws -> (id: String, record: RefreshTokenRecord) {
        (try row.decode(column: "id", as: String.self),
         RefreshTokenRecord(account: try row.decode(column: "account", as: String.self),
                            issuedAt: try row.date("issued_at") ?? Date(timeIntervalSince1970: 0),
                            clientID: try row.decode(column: "client_id", as: String?.self),
                            labels: try row.decode(column: "labels", as: String?.self)
                                .flatMap { try? JSONDecoder().decode([String: [String]].self, from: Data($0.utf8)) },
                            validSince: try row.date("valid_since")))
    }

    /// Moves the valid-since of a user (`table` berth_users) or robot (berth_robots) to now,
    /// strictly past its previous value, and deletes the account's refresh tokens and web
    /// sessions. Runs inside the change that calls for it.
    static func revokeCredentials(of name: String, in table: String, account: String, _ sql: any SQLDatabase, now: Int64) async throws {
        try await sql.raw("""
            UPDATE \(ident: table) SET valid_since = CASE
                WHEN COALESCE(valid_since, created_at) >= \(bind: now) THEN COALESCE(valid_since, created_at) + 1
                ELSE \(bind: now) END
            WHERE name = \(bind: name)
            """).run()
        try await sql.raw("DELETE FROM berth_refresh_tokens WHERE account = \(bind: account)").run()
    }

    /// The same for an account named as the token service names it (`robot$NAME` for a
    /// robot). An account of another backend (LDAP, a file) only loses its tokens.
    static func revokeCredentials(ofAccount account: String, _ sql: any SQLDatabase, now: Int64) async throws {
        if account.hasPrefix(RobotRecord.accountPrefix) {
            try await revokeCredentials(of: String(account.dropFirst(RobotRecord.accountPrefix.count)), in: "berth_robots",
                                        account: account, sql, now: now)
        } else {
            try await revokeCredentials(of: account, in: "berth_users", account: account, sql, now: now)
        }
    }

    /// Deletes refresh tokens past their age and web sessions past theirs; the rest of the
    /// time they are refused anyway, this only keeps the table small.
    public func purgeExpiredRefreshTokens(now: Date = Date()) async throws {
        let tokenLimit = now.addingTimeInterval(-RefreshTokens.maxAge).storedMilliseconds
        let sessionLimit = now.addingTimeInterval(-TimeInterval(RefreshTokens.webSessionLifetime)).storedMilliseconds
        let sessionClient = RefreshTokens.webSessionClientID
        try await database.transaction { sql in
            try await sql.raw("""
                DELETE FROM berth_refresh_tokens
                WHERE issued_at < \(bind: tokenLimit) OR (client_id = \(bind: sessionClient) AND issued_at < \(bind: sessionLimit))
                """).run()
        }
    }
}
