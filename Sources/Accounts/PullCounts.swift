import Foundation
import OCI
import SQLKit

/// A repository's pulls on one day (UTC): what the audit log keeps of pulls.
public struct PullDay: Hashable, Sendable, Codable {
    public var repository: String
    /// `YYYY-MM-DD`, UTC.
    public var day: String

    public init(repository: String, day: String) {
        self.repository = repository
        self.day = day
    }

    static func day(_ date: Date) -> String { UTCDay.string(date) }
}

/// One row of the pull counts.
public struct PullCount: Sendable, Equatable, Codable {
    public var repository: String
    public var day: String
    public var pulls: Int

    public init(repository: String, day: String, pulls: Int) {
        self.repository = repository
        self.day = day
        self.pulls = pulls
    }
}

extension AccountStore {
    /// Adds counted pulls to their repository's day.
    static func addPulls(_ pulls: [PullDay: Int], into sql: any SQLDatabase) async throws {
        for (key, count) in pulls {
            try await sql.raw("""
                INSERT INTO berth_pulls (repository, day, count) VALUES (\(bind: key.repository), \(bind: key.day), \(bind: count))
                ON CONFLICT (repository, day) DO UPDATE SET count = berth_pulls.count + excluded.count
                """).run()
        }
    }

    /// Pulls per repository since `since`, most pulled first (`limit` of them), with the
    /// period's total pulls and repositories: added up by the database, whatever the number
    /// of day rows.
    public func pullTotals(since: Date, repository: String? = nil, limit: Int = 20) async throws
        -> (top: [(repository: String, pulls: Int)], pulls: Int, repositories: Int) {
        let first = PullDay.day(since)
        return try await database.read { sql in
            func filtered(_ select: String) -> SQLQueryString {
                var query = SQLQueryString(stringLiteral: select + " FROM berth_pulls WHERE day >= ")
                query.appendInterpolation(bind: first)
                if let repository { query.appendInterpolation(unsafeRaw: " AND repository = "); query.appendInterpolation(bind: repository) }
                return query
            }
            var top = filtered("SELECT repository, CAST(SUM(count) AS BIGINT) AS total")
            top.appendInterpolation(unsafeRaw: " GROUP BY repository ORDER BY total DESC, repository LIMIT \(min(max(limit, 1), 1000))")
            let rows = try await sql.raw(top).all().map { row in
                (repository: try row.decode(column: "repository", as: String.self), pulls: Int(try row.decode(column: "total", as: Int64.self)))
            }
            let sums = try await sql.raw(filtered("SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS pulls, COUNT(DISTINCT repository) AS repositories")).first()
            return (rows, Int(try sums?.decode(column: "pulls", as: Int64.self) ?? 0), Int(try sums?.decode(column: "repositories", as: Int64.self) ?? 0))
        }
    }

    /// Pulls per repository and day since `since` (UTC), newest day first, most pulled first;
    /// only `repository`'s when given.
    public func pullCounts(since: Date, repository: String? = nil, limit: Int = 10_000) async throws -> [PullCount] {
        let first = PullDay.day(since)
        return try await database.read { sql in
            var query = SQLQueryString("SELECT repository, day, count FROM berth_pulls WHERE day >= ")
            query.appendInterpolation(bind: first)
            if let repository { query.appendInterpolation(unsafeRaw: " AND repository = "); query.appendInterpolation(bind: repository) }
            query.appendInterpolation(unsafeRaw: " ORDER BY day DESC, count DESC, repository LIMIT \(min(max(limit, 1), 100_000))")
            return try await sql.raw(query).all().map { row in
                PullCount(repository: try row.decode(column: "repository", as: String.self), day: try row.decode(column: "day", as: String.self),
                          pulls: Int(try row.decode(column: "count", as: Int64.self)))
            }
        }
    }
}
