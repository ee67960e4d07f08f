import Auth
import Foundation
import SQLKit

extension AccountStore {
    /// The tokens of `account`, or of every account; never their secrets.
    public func accessTokenRecords(account: String?) async throws -> [AccessTokenRecord] {
        try await database.read { sql in
            try await Self.accessTokens(sql).filter { account == nil || $0.account == AccountName.canonical(account!) }
        }
    }

    /// Creates a token for `account` and returns its secret, which is not kept (only its hash
    /// is). `labels` are remembered for an account this database does not hold.
    public func addAccessToken(account: String, name: String, scopes: [CredentialScope]?, expiresAt: Date?,
                                  labels: [String: [String]]?, by actor: AuditActor) async throws -> (AccessTokenRecord, secret: String) {
        let account = AccountName.canonical(account)
        try Validation.accessToken(account: account, name: name, scopes: scopes, expiresAt: expiresAt)
        if let labels { try Validation.labels(labels) }
        let secret = AccessTokenSecret.generate()
        let record = AccessTokenRecord(id: AccessTokenSecret.id(), account: account, name: name, secretHash: RobotSecret.hash(secret),
                                       scopes: scopes, labels: labels, expiresAt: expiresAt, createdAt: Date(), lastUsedAt: nil)
        let scopesJSON = try scopes.map { try StoredJSON.encode($0.map(\.description)) }
        let labelsJSON = try labels.map { try StoredJSON.encode($0) }
        let entry = AuditEntry(actor: actor.name, action: "token.create", target: account, address: actor.address,
                               detail: "\(name) \(scopes.map { $0.map(\.description).joined(separator: " ") } ?? "(all of the account's rights)")")
        try await change(entry) { sql in
            if let user = try await Self.users(sql).first(where: { $0.name == account }), !user.isActive() {
                throw AccountError.invalid("account \(account) is disabled or expired")
            }
            if try await sql.raw("SELECT id FROM berth_access_tokens WHERE account = \(bind: account) AND name = \(bind: name)").first() != nil {
                throw AccountError.conflict("\(account) already has a token named \(name)")
            }
            let count = try await sql.raw("SELECT COUNT(*) AS n FROM berth_access_tokens WHERE account = \(bind: account)").first()?
                .decode(column: "n", as: Int.self) ?? 0
            guard count < Validation.accessTokensPerAccount else {
                throw AccountError.invalid("\(account) has \(count) tokens, the most an account may have; revoke some first")
            }
            try await sql.raw("""
                INSERT INTO berth_access_tokens (id, account, name, secret_hash, scopes, labels, expires_at, created_at)
                VALUES (\(bind: record.id), \(bind: account), \(bind: name), \(bind: record.secretHash), \(bind: scopesJSON),
                        \(bind: labelsJSON), \(bind: expiresAt?.storedMilliseconds), \(bind: record.createdAt.storedMilliseconds))
                """).run()
        }
        return (record, secret)
    }

    /// Revokes `account`'s token whose id or name is `token`; its next use is refused.
    public func removeAccessToken(account: String, token: String, by actor: AuditActor) async throws -> AccessTokenRecord {
        let account = AccountName.canonical(account)
        let entry = AuditEntry(actor: actor.name, action: "token.revoke", target: account, address: actor.address, detail: token)
        return try await change(entry) { sql in
            guard let record = try await Self.accessTokens(sql).first(where: { $0.account == account && ($0.id == token || $0.name == token) }) else {
                throw AccountError.notFound("\(account) has no token \(token)")
            }
            try await sql.raw("DELETE FROM berth_access_tokens WHERE id = \(bind: record.id)").run()
            return record
        }
    }

    static func accessTokens(_ sql: any SQLDatabase) async throws -> [AccessTokenRecord] {
        try await sql.raw("SELECT * FROM berth_access_tokens ORDER BY account, created_at").all().map { row in
            let scopes = try row.decode(column: "scopes", as: String?.self).map {
                try JSONDecoder().decode([String].self, from: Data($0.utf8)).map { try CredentialScope(parsing: $0) }
            }
            let labels = try row.decode(column: "labels", as: String?.self).map {
                try JSONDecoder().decode([String: [String]].self, from: Data($0.utf8))
            }
            return AccessTokenRecord(id: try row.decode(column: "id", as: String.self),
                                     account: try row.decode(column: "account", as: String.self),
                                     name: try row.decode(column: "name", as: String.self),
                                     secretHash: try row.decode(column: "secret_hash", as: String.self),
                                     scopes: scopes, labels: labels, expiresAt: try row.date("expires_at"),
                                     createdAt: try row.date("created_at") ?? Date(timeIntervalSince1970: 0),
                                     lastUsedAt: try row.date("last_used_at"))
        }
    }
}
