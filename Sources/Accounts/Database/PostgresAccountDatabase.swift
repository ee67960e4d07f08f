import Foundation
import Logging
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit

/// PostgreSQL, for replicas sharing one set of accounts. Connections come from
/// postgres-nio's pool, which runs for as long as this value is open.
final class PostgresAccountDatabase: AccountDatabase {
    let engine = "postgres"
    let answersOverNetwork = true
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    /// Serialises writers across every replica: each transaction takes it first.
    static let advisoryLockKey: Int64 = 0x6265_7274_6861_6363  // "berthacc"

    init(_ settings: AccountDatabaseLocation.PostgresSettings, logger: Logger) {
        let tls: PostgresClient.Configuration.TLS = switch settings.sslMode {
        case "disable": .disable
        case "require": .require(.makeClientConfiguration())
        default: .prefer(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: settings.host, port: settings.port, username: settings.user,
                                                         password: settings.password, database: settings.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 8
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        runner = Task { await client.run() }
    }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil, logger: logger))
        }
    }

    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await client.withConnection { connection in
            try await inTransaction(connection.sql(queryLogLevel: nil, logger: logger),
                                    begin: ["BEGIN", "SELECT pg_advisory_xact_lock(\(bind: Self.advisoryLockKey))"], body)
        }
    }

    func close() async {
        runner.cancel()
        _ = await runner.value
    }
}
