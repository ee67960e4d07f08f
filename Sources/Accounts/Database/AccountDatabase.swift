import Foundation
import SQLKit

/// Where the accounts live: an SQLite file (embedded, the default), SQLite in memory (tests,
/// `storage.inmemory`), or a PostgreSQL server shared by several replicas.
public enum AccountDatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case sqliteInMemory
    case postgres(PostgresSettings)

    public struct PostgresSettings: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String
        /// `sslmode`: disable, prefer (the default) or require.
        public var sslMode: String
    }

    /// `sqlite:PATH`, `sqlite::memory:`, or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]`
    /// (the password may also come from `PGPASSWORD`).
    public init(parsing text: String) throws {
        if text == "sqlite::memory:" {
            self = .sqliteInMemory
        } else if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else { throw AccountError.invalid("accounts database: sqlite needs a path") }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            guard let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
                throw AccountError.invalid("accounts database: cannot read the PostgreSQL URL")
            }
            let database = String(url.path.drop { $0 == "/" })
            let sslMode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
            guard ["disable", "prefer", "require"].contains(sslMode) else {
                throw AccountError.invalid("accounts database: sslmode must be disable, prefer or require")
            }
            self = .postgres(PostgresSettings(
                host: host, port: url.port ?? 5432, user: url.user ?? "postgres",
                password: url.password?.removingPercentEncoding ?? ProcessInfo.processInfo.environment["PGPASSWORD"],
                database: database.isEmpty ? (url.user ?? "postgres") : database, sslMode: sslMode))
        } else {
            throw AccountError.invalid("accounts database: expected sqlite:PATH or postgres://USER@HOST/DB")
        }
    }

    /// Never shows the password.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .sqliteInMemory: "sqlite::memory:"
        case .postgres(let p): "postgres://\(p.user)@\(p.host):\(p.port)/\(p.database)"
        }
    }
}

/// One SQL code path over both engines. A transaction holds the engine's write lock for its
/// whole length (SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock), so concurrent
/// writers, in this process, in the CLI or in another replica, are serialised.
public protocol AccountDatabase: Sendable {
    var engine: String { get }
    /// Whether the database is reached over a network, where it can stop answering without
    /// failing (a partition, a dead server). Waits on an embedded file are bounded by the
    /// engine itself, so they get no deadline: one would only measure this process's own
    /// stalls (a starved CPU) and turn them into refusals.
    var answersOverNetwork: Bool { get }
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    func close() async
}

/// `begin`, then `body`, then COMMIT; ROLLBACK if anything failed. Both engines' transactions
/// differ only in how they begin (and take the write lock).
func inTransaction<T: Sendable>(_ sql: any SQLDatabase, begin: [SQLQueryString],
                                _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
    try await sql.raw(begin[0]).run()
    do {
        for statement in begin.dropFirst() { try await sql.raw(statement).run() }
        let result = try await body(sql)
        try await sql.raw("COMMIT").run()
        return result
    } catch {
        // Not in this task: when it was cancelled, the rollback would be refused too and the
        // connection left inside the transaction, failing every later one ("cannot start a
        // transaction within a transaction").
        await Task.detached { try? await sql.raw("ROLLBACK").run() }.value
        throw error
    }
}

/// An async mutual exclusion for a resource that must not be used by two tasks at once
/// (an SQLite connection inside a transaction).
actor AsyncLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        if !locked {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func unlock() {
        if waiters.isEmpty { locked = false } else { waiters.removeFirst().resume() }
    }

    func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await lock()
        do {
            let result = try await body()
            unlock()
            return result
        } catch {
            unlock()
            throw error
        }
    }
}
