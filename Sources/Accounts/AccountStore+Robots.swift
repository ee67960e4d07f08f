import Crypto
import Foundation
import SQLKit

extension AccountStore {
    public func robots() async throws -> [RobotRecord] {
        try await database.read { try await Self.robots($0) }
    }

    /// Creates the robot and returns its secret, which is not kept (only its hash is).
    public func addRobot(_ name: String, repositories: [String], actions: [String], description: String? = nil,
                         expiresAt: Date? = nil, by actor: AuditActor) async throws -> (RobotRecord, secret: String) {
        try Validation.robotName(name)
        try Validation.robot(repositories: repositories, actions: actions)
        if let description, description.utf8.count > 1024 { throw AccountError.invalid("descriptions have at most 1024 characters") }
        let secret = RobotSecret.generate()
        let record = RobotRecord(name: name, secretHash: RobotSecret.hash(secret), repositories: repositories,
                                 actions: actions.sorted(), description: description, disabled: false, expiresAt: expiresAt,
                                 createdAt: Date(), lastUsedAt: nil)
        let repositoriesJSON = try StoredJSON.encode(record.repositories)
        let actionsJSON = try StoredJSON.encode(record.actions)
        let entry = AuditEntry(actor: actor.name, action: "robot.add", target: record.account, address: actor.address,
                               detail: "\(repositoriesJSON) \(actionsJSON)")
        try await change(entry) { sql in
            if try await sql.raw("SELECT name FROM berth_robots WHERE name = \(bind: name)").first() != nil {
                throw AccountError.conflict("robot \(name) exists")
            }
            try await sql.raw("""
                INSERT INTO berth_robots (name, secret_hash, repositories, actions, description, disabled, expires_at, created_at)
                VALUES (\(bind: name), \(bind: record.secretHash), \(bind: repositoriesJSON), \(bind: actionsJSON),
                        \(bind: description), 0, \(bind: expiresAt?.storedMilliseconds), \(bind: record.createdAt.storedMilliseconds))
                """).run()
        }
        return (record, secret)
    }

    /// A new secret for the robot; the old one stops working at once, and so do the refresh
    /// tokens obtained with it.
    public func rotateRobot(_ name: String, by actor: AuditActor) async throws -> String {
        let secret = RobotSecret.generate()
        let hash = RobotSecret.hash(secret)
        let entry = AuditEntry(actor: actor.name, action: "robot.rotate", target: RobotRecord.accountPrefix + name, address: actor.address)
        try await change(entry) { sql in
            guard try await sql.raw("SELECT name FROM berth_robots WHERE name = \(bind: name)").first() != nil else {
                throw AccountError.notFound("no robot \(name)")
            }
            try await sql.raw("UPDATE berth_robots SET secret_hash = \(bind: hash) WHERE name = \(bind: name)").run()
            try await Self.revokeCredentials(of: name, in: "berth_robots", account: RobotRecord.accountPrefix + name, sql,
                                             now: Date().storedMilliseconds)
        }
        return secret
    }

    public func removeRobot(_ name: String, by actor: AuditActor) async throws {
        let entry = AuditEntry(actor: actor.name, action: "robot.rm", target: RobotRecord.accountPrefix + name, address: actor.address)
        try await change(entry) { sql in
            guard try await sql.raw("SELECT name FROM berth_robots WHERE name = \(bind: name)").first() != nil else {
                throw AccountError.notFound("no robot \(name)")
            }
            try await sql.raw("DELETE FROM berth_robots WHERE name = \(bind: name)").run()
            try await sql.raw("DELETE FROM berth_refresh_tokens WHERE account = \(bind: RobotRecord.accountPrefix + name)").run()
        }
    }

    static func robots(_ sql: any SQLDatabase) async throws -> [RobotRecord] {
        try await sql.raw("SELECT * FROM berth_robots ORDER BY name").all().map { row in
            RobotRecord(name: try row.decode(column: "name", as: String.self),
                        secretHash: try row.decode(column: "secret_hash", as: String.self),
                        repositories: try row.json("repositories", as: [String].self),
                        actions: try row.json("actions", as: [String].self),
                        description: try row.decode(column: "description", as: String?.self),
                        disabled: try row.decode(column: "disabled", as: Int.self) != 0,
                        expiresAt: try row.date("expires_at"),
                        createdAt: try row.date("created_at") ?? Date(timeIntervalSince1970: 0),
                        lastUsedAt: try row.date("last_used_at"),
                        validSince: try row.date("valid_since"))
        }
    }
}

/// Robot secrets: 40 random base62 characters (about 238 bits), prefixed so that a leaked one
/// is recognisable in logs and secret scanners.
public enum RobotSecret {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    static func generate() -> String { "berth_" + randomCharacters(40) }

    static func randomCharacters(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Compares hashes in constant time.
    static func matches(_ secret: String, hash: String) -> Bool {
        let candidate = Array(self.hash(secret).utf8)
        let stored = Array(hash.utf8)
        guard candidate.count == stored.count else { return false }
        var difference: UInt8 = 0
        for i in candidate.indices { difference |= candidate[i] ^ stored[i] }
        return difference == 0
    }
}
