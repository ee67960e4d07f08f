import Foundation
import Logging
import NIOPosix
import SQLKit
import SQLiteKit
import Synchronization

/// The embedded default: one SQLite file (WAL, so the CLI can write while `berth serve`
/// reads), one connection used by one task at a time.
final class SQLiteAccountDatabase: AccountDatabase {
    let engine = "sqlite"
    let answersOverNetwork = false
    private let connection: SQLiteConnection
    private let sql: any SQLDatabase
    private let lock = AsyncLock()
    /// Its own thread: a connection waiting for another's write lock sleeps on its thread,
    /// which must not be one the lock holder needs to finish.
    private let threadPool: NIOThreadPool

    init(path: String?, logger: Logger) async throws {
        if let path {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            }
            try createOwnerOnly(path)
        }
        threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        do {
            connection = try await SQLiteConnection.open(storage: path.map { .file(path: $0) } ?? .memory,
                                                         threadPool: threadPool, logger: logger,
                                                         on: MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            try? await threadPool.shutdownGracefully()
            throw error
        }
        sql = connection.sql(queryLogLevel: nil)
        do {
            try await configure(persistent: path != nil)
        } catch {
            // Closed here, not left to deinit: sqlite-nio asserts that a connection is
            // closed before it goes away, and deinit's close would still be under way.
            await close()
            throw error
        }
    }

    private func configure(persistent: Bool) async throws {
        if persistent {
            // Wait up to 10 s for another process's write (sqlite-nio's own handler waits forever).
            try await sql.raw("PRAGMA busy_timeout=10000").run()
            // Switching to WAL needs a moment alone with the file; processes opening a new
            // database at the same instant take turns (the mode then stays in the file).
            for attempt in 1... {
                do {
                    try await sql.raw("PRAGMA journal_mode=WAL").run()
                    break
                } catch where attempt < 100 && "\(error)".contains("locked") {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            try await sql.raw("PRAGMA synchronous=FULL").run()
        }
        try await sql.raw("PRAGMA foreign_keys=ON").run()
    }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let sql = self.sql
        return try await lock.withLock { try await body(sql) }
    }

    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let sql = self.sql
        return try await lock.withLock { try await inTransaction(sql, begin: ["BEGIN IMMEDIATE"], body) }
    }

    func close() async {
        guard !closed.withLock({ let was = $0; $0 = true; return was }) else { return }
        // The future-returning close, not the async one: that one gives up in a cancelled task
        // (a store opened beside one that failed), leaving the connection open.
        try? await connection.close().get()
        try? await threadPool.shutdownGracefully()
    }

    private let closed = Mutex(false)

    /// A database dropped without `close()` (an application that was built but never run)
    /// still closes its connection and stops its thread.
    deinit {
        guard !closed.withLock({ $0 }) else { return }
        let pool = threadPool
        connection.close().whenComplete { _ in pool.shutdownGracefully { _ in } }
    }
}

/// Password hashes and robot secrets' hashes live here: owner only. Created in place with
/// O_EXCL, never written aside and renamed (FileManager's way): a process starting at the
/// same moment would otherwise swap a fresh empty file for the database another one opened.
private func createOwnerOnly(_ path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    if descriptor >= 0 {
        close(descriptor)
    } else if errno != EEXIST {
        throw AccountError.invalid("cannot create the accounts database \(path): \(String(cString: strerror(errno)))")
    }
}
