import Server
import Accounts
import Auth
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import OCI
import Storage

/// `berth auth-server`: only the token endpoint, configured by a docker_auth
/// `auth_config.yml`, for registries that run elsewhere (e.g. an existing `registry:2`),
/// with the same accounts database as `berth serve` (users, rules, robots, refresh tokens).
public enum TokenServer {
    /// `accounts` nil: SQLite under `dataDirectory`, where `berth serve` keeps it.
    public static func makeApplication(configYAML: String, dataDirectory: String, accounts: AccountDatabaseLocation? = nil, logger: Logger,
                                       onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) async throws -> some ApplicationProtocol {
        let config = try AuthConfiguration.parse(yaml: configYAML)
        for key in AuthConfiguration.unsupportedKeys(yaml: configYAML) {
            logger.warning("auth configuration key not supported by Berth, ignored: \(key)")
        }
        let driver = try FilesystemDriver(rootDirectory: dataDirectory)
        let store = RegistryStore(driver: driver)
        let key = try await AuthAssembly.signingKey(config, store: store)
        let location = accounts ?? .sqlite(path: (dataDirectory as NSString).appendingPathComponent(BerthLayout.accountsDatabase))
        let directory = try await AuthAssembly.openAccounts(location, store: store, logger: logger)
        let service = try await AuthAssembly.tokenService(config, signingKey: key, accounts: directory)
        let prefix = TokenEndpoint.normalizedPrefix(config.server?.path_prefix)
        let addr = config.server?.addr ?? ":5001"
        guard let colon = addr.lastIndex(of: ":"), let port = Int(addr[addr.index(after: colon)...]) else {
            throw AuthError.configuration("server.addr: expected HOST:PORT, got \(addr)")
        }
        let host = addr[..<colon].isEmpty ? "0.0.0.0" : String(addr[..<colon])
        let server = try ServerChannel.make(certificate: config.server?.certificate, key: config.server?.key)
        let endpoint = TokenEndpoint(service: service, pathPrefix: prefix)
        var settings = BerthRouter.Settings()
        settings.clientAddress = try AuthSetup.clientAddressPolicy(config, trustedProxies: nil)
        let router = BerthRouter.make(settings, metrics: nil, logger: logger)
        router.addTokenEndpoint(endpoint)
        return Application(
            router: router,
            server: server, configuration: .init(address: .hostname(host, port: port)),
            services: [directory],
            onServerRunning: onServerRunning, logger: logger)
    }
}
