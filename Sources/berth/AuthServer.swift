import Accounts
import ArgumentParser
import Config
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Assembly

struct AuthServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth-server",
        abstract: "Run only the token service, from a cesanta/docker_auth auth_config.yml.")

    @Option(name: .shortAndLong, help: "The docker_auth configuration file.")
    var config: String

    @Option(help: "Where the generated signing key (and, by default, the accounts database) are kept.")
    var data = "./data"

    @Option(help: "The accounts database: sqlite:PATH or postgres://USER@HOST:PORT/DB (default: SQLite under --data).")
    var accounts: String?

    func run() async throws {
        // Every request here is a signature computed between a read and a write on one
        // connection: Swift Concurrency's jobs run on the event loops, so a request stays on
        // its connection's thread instead of crossing to the concurrency pool and back
        // (ES256 tokens/s ×1.4 with wrk; `berth serve` keeps the pool: measured there, its
        // manifest GETs lost more than its tokens gained).
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        guard let bytes = FileManager.default.contents(atPath: config) else {
            throw ValidationError("cannot read \(config)")
        }
        let logger = Logging.make(RegistryConfiguration())
        let location = try accounts.map { try AccountDatabaseLocation(parsing: $0) }
        let app = try await TokenServer.makeApplication(configYAML: String(decoding: bytes, as: UTF8.self), dataDirectory: data,
                                                        accounts: location, logger: logger) { channel in
            logger.info("token service listening", metadata: ["address": .string(channel.localAddress?.description ?? "?")])
        }
        try await app.runService()
    }
}
