import ArgumentParser
import Config
import Foundation
import Hummingbird
import Logging
import Server

struct AuthServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth-server",
        abstract: "Run only the token service, from a cesanta/docker_auth auth_config.yml.")

    @Option(name: .shortAndLong, help: "The docker_auth configuration file.")
    var config: String

    @Option(help: "Where the generated signing key and refresh tokens are kept.")
    var data = "./data"

    func run() async throws {
        guard let bytes = FileManager.default.contents(atPath: config) else {
            throw ValidationError("cannot read \(config)")
        }
        let logger = Logging.make(RegistryConfiguration())
        let app = try await TokenServer.makeApplication(configYAML: String(decoding: bytes, as: UTF8.self), dataDirectory: data, logger: logger) { channel in
            logger.info("token service listening", metadata: ["address": .string(channel.localAddress?.description ?? "?")])
        }
        try await app.runService()
    }
}
