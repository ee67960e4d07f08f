import Accounts
import Foundation
import Logging
import Testing

/// Every account database engine the shared suite runs against. PostgreSQL needs a server:
/// `BERTH_TEST_POSTGRES=postgres://USER@HOST:PORT` (scripts/test.sh starts one); without it
/// the PostgreSQL cases fail under CI=true and are left out elsewhere.
enum AccountEngine: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static let postgresServer = ProcessInfo.processInfo.environment["BERTH_TEST_POSTGRES"]

    /// A new, empty database of this engine, or nil when the engine is not available here.
    func makeLocation() throws -> AccountDatabaseLocation? {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-accounts-\(UUID().uuidString)")
            return .sqlite(path: directory.appendingPathComponent("accounts.sqlite").path)
        case .postgres:
            guard let server = Self.postgresServer else {
                if ProcessInfo.processInfo.environment["CI"] == "true" {
                    Issue.record("BERTH_TEST_POSTGRES is not set: the PostgreSQL account tests cannot run")
                }
                return nil
            }
            let name = "berth_test_\(UUID().uuidString.prefix(8).lowercased())"
            guard let url = URLComponents(string: server), let host = url.host else { throw AccountError.invalid("BERTH_TEST_POSTGRES") }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["createdb", "-h", host, "-p", String(url.port ?? 5432), "-U", url.user ?? "postgres", name]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw AccountError.invalid("createdb \(name) failed") }
            return try AccountDatabaseLocation(parsing: "\(server)/\(name)?sslmode=disable")
        }
    }
}

let testLogger = Logger(label: "accounts-tests")
let cli = AuditActor("cli:test")

/// Opens a fresh store of `engine` and closes it after `body`; does nothing when the engine
/// is not available (see `AccountEngine`).
func withStore(_ engine: AccountEngine, _ body: (AccountStore, AccountDatabaseLocation) async throws -> Void) async throws {
    guard let location = try engine.makeLocation() else { return }
    defer { removeFiles(of: location) }
    let store = try await AccountStore.open(location, logger: testLogger)
    do {
        try await body(store, location)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}

/// Deletes a SQLite location's directory (PostgreSQL test databases go with the server).
func removeFiles(of location: AccountDatabaseLocation) {
    if case .sqlite(let path) = location {
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    }
}
