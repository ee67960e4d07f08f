import Auth
import Foundation
import Logging
import SQLKit

/// Users, ACL rules, robots and the audit log in a database. Every change runs in one write
/// transaction that also bumps the generation and appends its audit entry, so replicas and
/// the in-memory snapshot see a change whole or not at all.
public struct AccountStore: Sendable {
    let database: any AccountDatabase

    /// Opens the database and brings its schema up to date.
    public static func open(_ location: AccountDatabaseLocation, logger: Logger) async throws -> AccountStore {
        let database: any AccountDatabase = switch location {
        case .sqlite(let path): try await SQLiteAccountDatabase(path: path, logger: logger)
        case .sqliteInMemory: try await SQLiteAccountDatabase(path: nil, logger: logger)
        case .postgres(let settings): PostgresAccountDatabase(settings, logger: logger)
        }
        do {
            try await SchemaMigrations.apply(database)
        } catch {
            await database.close()
            throw error
        }
        return AccountStore(database: database)
    }

    public var engine: String { database.engine }
    public var answersOverNetwork: Bool { database.answersOverNetwork }

    public func close() async { await database.close() }

    /// Changes whenever anything in the store changes.
    public func generation() async throws -> Int64 {
        try await database.read { sql in
            try await sql.raw("SELECT value FROM berth_generation WHERE id = 1").first()?.decode(column: "value", as: Int64.self) ?? 0
        }
    }

    /// Runs a change: `body`, then the generation bump and the audit entry, in one transaction.
    /// A change that would leave no active administrator where there was one is refused: the
    /// last way into the admin pages and API must not go by accident.
    func change<T: Sendable>(_ entry: AuditEntry, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await database.transaction { sql in
            let guarded = Self.mayRemoveAdministrators(entry.action)
            let before = guarded ? try await Self.administrators(sql) : []
            let result = try await body(sql)
            if guarded, !before.isEmpty, try await Self.administrators(sql).isEmpty {
                throw AccountError.conflict(
                    "this would leave no administrator (\(before.sorted().joined(separator: ", ")) \(before.count == 1 ? "is" : "are") the last with registry:admin:*); "
                    + "make another account an administrator first")
            }
            try await sql.raw("UPDATE berth_generation SET value = value + 1 WHERE id = 1").run()
            try await Self.insert(entry, into: sql)
            return result
        }
    }

    /// Everything the token service needs, read in one transaction so it is consistent.
    public func snapshot() async throws -> AccountSnapshot {
        try await database.transaction { sql in
            let generation = try await sql.raw("SELECT value FROM berth_generation WHERE id = 1").first()?
                .decode(column: "value", as: Int64.self) ?? 0
            return try AccountSnapshot(generation: generation, users: try await Self.users(sql), rules: try await Self.rules(sql),
                                       robots: try await Self.robots(sql), unlocks: try await Self.unlocks(sql),
                                       accessTokens: try await Self.accessTokens(sql),
                                       repositoryPolicies: try await Self.repositoryPolicies(sql))
        }
    }
}

/// Timestamps are stored as milliseconds since 1970 (BIGINT), the same on both engines.
extension Date {
    var storedMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    init(storedMilliseconds: Int64) { self.init(timeIntervalSince1970: Double(storedMilliseconds) / 1000) }
}

extension SQLRow {
    func date(_ column: String) throws -> Date? {
        try decode(column: column, as: Int64?.self).map(Date.init(storedMilliseconds:))
    }

    func json<T: Decodable>(_ column: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(try decode(column: column, as: String.self).utf8))
    }
}

enum StoredJSON {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
