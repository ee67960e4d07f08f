import SQLKit

/// Versioned schema changes, applied in order at start. Both engines read the same
/// statements (portable types only: TEXT, INTEGER, BIGINT). Each runs inside a write
/// transaction that re-reads the version first, so two replicas starting at once apply it
/// once.
enum SchemaMigrations {
    static let all: [[String]] = [
        [
            """
            CREATE TABLE berth_users (
                name TEXT PRIMARY KEY, password_hash TEXT, labels TEXT NOT NULL,
                disabled INTEGER NOT NULL DEFAULT 0, expires_at BIGINT,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE berth_acl (
                id TEXT PRIMARY KEY, position INTEGER NOT NULL, rule TEXT NOT NULL,
                expires_at BIGINT, created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE berth_robots (
                name TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, repositories TEXT NOT NULL,
                actions TEXT NOT NULL, description TEXT, disabled INTEGER NOT NULL DEFAULT 0,
                expires_at BIGINT, created_at BIGINT NOT NULL, last_used_at BIGINT)
            """,
            """
            CREATE TABLE berth_audit (
                id TEXT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                target TEXT NOT NULL, address TEXT, success INTEGER NOT NULL, detail TEXT)
            """,
            "CREATE INDEX berth_audit_at ON berth_audit (at)",
            // Bumped by every change, so replicas notice one by reading a single row.
            "CREATE TABLE berth_generation (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO berth_generation (id, value) VALUES (1, 1)",
        ],
        [
            // Refresh tokens (docker's saved identity token), by the SHA-256 of the token.
            """
            CREATE TABLE berth_refresh_tokens (
                id TEXT PRIMARY KEY, account TEXT NOT NULL, issued_at BIGINT NOT NULL, client_id TEXT)
            """,
            "CREATE INDEX berth_refresh_tokens_account ON berth_refresh_tokens (account)",
        ],
        [
            // The labels a token was issued with, for accounts no backend can look up.
            "ALTER TABLE berth_refresh_tokens ADD COLUMN labels TEXT",
        ],
        [
            // When an account's credentials last changed (password, rotation, disable/enable,
            // "sign out everywhere"), and the value each refresh token or session was issued
            // under: one issued under an earlier value is refused.
            "ALTER TABLE berth_users ADD COLUMN valid_since BIGINT",
            "ALTER TABLE berth_robots ADD COLUMN valid_since BIGINT",
            "ALTER TABLE berth_refresh_tokens ADD COLUMN valid_since BIGINT",
            // An admin's unlock: the failed-login limiter forgets the account's failures before it.
            "CREATE TABLE berth_unlocks (account TEXT PRIMARY KEY, at BIGINT NOT NULL)",
            // Refused logins are one row per account, address, reason and minute, counted.
            "ALTER TABLE berth_audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1",
            // Each running server's latest applied generation, so that the CLI can wait until
            // every live one has applied its change.
            "CREATE TABLE berth_replicas (id TEXT PRIMARY KEY, generation BIGINT NOT NULL, seen_at BIGINT NOT NULL)",
        ],
        [
            // A user's latest successful login, for the users page (robots have last_used_at).
            "ALTER TABLE berth_users ADD COLUMN last_login_at BIGINT",
            // Pulls are counted per repository and day, not itemised.
            "CREATE TABLE berth_pulls (repository TEXT NOT NULL, day TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (repository, day))",
        ],
        [
            // Personal access tokens, by the SHA-256 of the secret; `labels` are those of an
            // account this database does not hold (LDAP, a file), remembered at creation.
            """
            CREATE TABLE berth_access_tokens (
                id TEXT PRIMARY KEY, account TEXT NOT NULL, name TEXT NOT NULL, secret_hash TEXT NOT NULL,
                scopes TEXT, labels TEXT, expires_at BIGINT, created_at BIGINT NOT NULL, last_used_at BIGINT)
            """,
            "CREATE UNIQUE INDEX berth_access_tokens_name ON berth_access_tokens (account, name)",
            "CREATE UNIQUE INDEX berth_access_tokens_secret ON berth_access_tokens (secret_hash)",
        ],
        [
            // People signed in through a provider: what revalidation asks it with (the
            // provider's refresh token, sealed by the server), when it last did, which replica
            // holds the check, and when the provider refused them (their account disabled so).
            """
            CREATE TABLE berth_federated (
                account TEXT PRIMARY KEY, provider TEXT NOT NULL, refresh_token TEXT, signed_in_at BIGINT NOT NULL,
                checked_at BIGINT NOT NULL, claimed_by TEXT, refused_at BIGINT, refusal TEXT)
            """,
        ],
        [
            // Repository policies (immutable tags, later retention, quotas, signatures): a kind
            // and its settings as JSON, in the order they were added.
            """
            CREATE TABLE berth_repository_policies (
                id TEXT PRIMARY KEY, kind TEXT NOT NULL, spec TEXT NOT NULL, comment TEXT, created_at BIGINT NOT NULL)
            """,
        ],
        [
            // Scheduled jobs replicas share (retention): when each last ran, and which replica took it.
            "CREATE TABLE berth_jobs (name TEXT PRIMARY KEY, ran_at BIGINT NOT NULL, claimed_by TEXT)",
        ],
        [
            // The provider's own id of the person an account was first signed in as.
            "ALTER TABLE berth_federated ADD COLUMN subject TEXT",
        ],
    ]

    static func apply(_ database: any AccountDatabase) async throws {
        try await database.transaction { sql in
            try await sql.raw("CREATE TABLE IF NOT EXISTS berth_schema (version INTEGER NOT NULL)").run()
            let current = try await sql.raw("SELECT MAX(version) AS version FROM berth_schema").first()?
                .decode(column: "version", as: Int?.self) ?? 0
            guard current <= all.count else {
                throw AccountError.invalid("the accounts database has schema version \(current), newer than this Berth knows (\(all.count)); upgrade Berth")
            }
            for (index, statements) in all.enumerated() where index + 1 > current {
                for statement in statements { try await sql.raw(SQLQueryString(statement)).run() }
                try await sql.raw("INSERT INTO berth_schema (version) VALUES (\(bind: index + 1))").run()
            }
        }
    }
}
