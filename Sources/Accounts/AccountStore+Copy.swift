import Foundation
import SQLKit

extension AccountStore {
    /// A consistent copy of an SQLite accounts database into a new file (SQLite's `VACUUM
    /// INTO`, safe while `berth serve` writes), owner-readable only, renamed into place.
    public func copySQLite(to path: String) async throws {
        guard engine == "sqlite" else {
            throw AccountError.invalid("the accounts are in PostgreSQL: back them up with pg_dump")
        }
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let staging = path + ".copy-\(UUID().uuidString.prefix(8))"
        do {
            try await database.read { sql in try await sql.raw("VACUUM INTO \(bind: staging)").run() }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: staging)
            if rename(staging, path) != 0 { throw AccountError.invalid("cannot move the copy into \(path)") }
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }
}
