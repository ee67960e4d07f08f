import Foundation
import SQLKit

/// A person signed in through a provider, as revalidation sees them.
public struct FederatedRecord: Sendable, Equatable {
    public var account: String
    public var provider: String
    /// Sealed by the server; nil when the provider gave none (nothing to revalidate with).
    public var refreshToken: String?
    public var signedInAt: Date
    public var checkedAt: Date
    public var refusedAt: Date?
    public var refusal: String?
    public var subject: String?
}

extension AccountStore {
    /// Records a sign-in through `provider` (a new refresh token replaces the old one; a
    /// refusal is forgotten: the provider accepted them again).
    public func recordFederatedSignIn(account: String, provider: String, subject: String?, refreshToken: String?, at now: Date = Date()) async throws {
        let at = now.storedMilliseconds
        try await database.transaction { sql in
            try await sql.raw("""
                INSERT INTO berth_federated (account, provider, subject, refresh_token, signed_in_at, checked_at)
                VALUES (\(bind: account), \(bind: provider), \(bind: subject), \(bind: refreshToken), \(bind: at), \(bind: at))
                ON CONFLICT (account) DO UPDATE SET provider = \(bind: provider), subject = \(bind: subject), refresh_token = \(bind: refreshToken),
                    signed_in_at = \(bind: at), checked_at = \(bind: at), claimed_by = NULL, refused_at = NULL, refusal = NULL
                """).run()
        }
    }

    public func federated(account: String) async throws -> FederatedRecord? {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM berth_federated WHERE account = \(bind: account)").first().map(Self.federated)
        }
    }

    /// People due for revalidation: with a refresh token, not refused, last checked before `before`.
    public func federatedDue(before: Date, limit: Int = 100) async throws -> [FederatedRecord] {
        try await database.read { sql in
            try await sql.raw("""
                SELECT f.* FROM berth_federated f JOIN berth_users u ON u.name = f.account
                WHERE f.refresh_token IS NOT NULL AND f.refused_at IS NULL AND u.disabled = 0
                  AND f.checked_at < \(bind: before.storedMilliseconds)
                ORDER BY f.checked_at LIMIT \(unsafeRaw: String(limit))
                """).all().map(Self.federated)
        }
    }

    /// Takes the check of `record` for `replica`: true only for the one replica whose claim
    /// moved `checked_at` from the value it read (a rotating refresh token must be used once).
    public func claimFederated(_ record: FederatedRecord, replica: String, at now: Date = Date()) async throws -> Bool {
        try await database.transaction { sql in
            try await sql.raw("""
                UPDATE berth_federated SET checked_at = \(bind: now.storedMilliseconds), claimed_by = \(bind: replica)
                WHERE account = \(bind: record.account) AND checked_at = \(bind: record.checkedAt.storedMilliseconds)
                """).run()
            let row = try await sql.raw("SELECT claimed_by, checked_at FROM berth_federated WHERE account = \(bind: record.account)").first()
            return try row?.decode(column: "claimed_by", as: String?.self) == replica
                && row?.decode(column: "checked_at", as: Int64.self) == now.storedMilliseconds
        }
    }

    /// The provider still accepts them: its (possibly rotated) refresh token kept.
    public func federatedAccepted(account: String, refreshToken: String?) async throws {
        try await database.transaction { sql in
            if let refreshToken {
                try await sql.raw("UPDATE berth_federated SET refresh_token = \(bind: refreshToken) WHERE account = \(bind: account)").run()
            }
        }
    }

    /// The provider refused them: recorded, and their account disabled (refresh tokens and
    /// sessions revoked with it) until they sign in there again.
    public func federatedRefused(account: String, reason: String, by actor: AuditActor, at now: Date = Date()) async throws {
        // An account an administrator disabled meanwhile stays the administrator's: not marked
        // as the provider's refusal, so signing in there again does not lift it.
        guard let user = try await user(account), !user.disabled else { return }
        try await database.transaction { sql in
            try await sql.raw("""
                UPDATE berth_federated SET refused_at = \(bind: now.storedMilliseconds), refusal = \(bind: String(reason.prefix(512))),
                    refresh_token = NULL WHERE account = \(bind: account)
                """).run()
        }
        try await setDisabled(account, true, by: actor)
    }

    static func federated(_ row: any SQLRow) throws -> FederatedRecord {
        FederatedRecord(account: try row.decode(column: "account", as: String.self),
                        provider: try row.decode(column: "provider", as: String.self),
                        refreshToken: try row.decode(column: "refresh_token", as: String?.self),
                        signedInAt: try row.date("signed_in_at") ?? Date(timeIntervalSince1970: 0),
                        checkedAt: try row.date("checked_at") ?? Date(timeIntervalSince1970: 0),
                        refusedAt: try row.date("refused_at"),
                        refusal: try row.decode(column: "refusal", as: String?.self),
                        subject: try row.decode(column: "subject", as: String?.self))
    }
}
