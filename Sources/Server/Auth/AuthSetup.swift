import Auth
import Config
import Foundation
import Storage

/// The token server and the registry's token check, assembled from the configuration.
public struct AuthSetup: Sendable {
    var authorizer: (any RequestAuthorizer)?
    var tokenEndpoint: TokenEndpoint?
    var warnings: [String] = []

    static func make(_ config: RegistryConfiguration, store: RegistryStore) async throws -> AuthSetup {
        if let htpasswd = config.htpasswdAuth {
            guard let text = FileManager.default.contents(atPath: htpasswd.path) else {
                throw AuthError.configuration("auth.htpasswd.path: cannot read \(htpasswd.path)")
            }
            let users = try Htpasswd.parse(String(decoding: text, as: UTF8.self))
            return AuthSetup(authorizer: BasicAuthorizer(users: StaticUsers(users), realm: htpasswd.realm,
                                                         readers: htpasswd.readers.map(Set.init), writers: htpasswd.writers.map(Set.init)))
        }
        guard let tokenAuth = config.tokenAuth else { return AuthSetup() }
        var setup = AuthSetup()
        var roots: [TokenVerifier.Root] = []
        var issuer = tokenAuth.issuer
        if tokenAuth.builtInAccounts {
            let key = try await storedSigningKey(store)
            let admin = try await BuiltInAccounts.adminHash(store)
            let service = TokenService(
                issuer: try await TokenIssuer(issuer: issuer ?? "Berth", expiration: 900, signingKey: key),
                backends: [StaticUsers(["admin": .init(password: admin)])],
                acl: try ACL([ACLRule(match: .init(account: "admin"), actions: ["*"])]), allowsAnonymous: false,
                refreshTokens: StorageRefreshTokenStore(driver: store.driver))
            setup.tokenEndpoint = TokenEndpoint(service: service)
            roots = key.certificates
        } else if let yaml = tokenAuth.serverYAML {
            let authConfig = try AuthConfiguration.parse(yaml: yaml)
            setup.warnings = AuthConfiguration.unsupportedKeys(yaml: yaml).map { "auth configuration key not supported by Berth, ignored: \($0)" }
            let key = try await signingKey(authConfig, store: store)
            let service = try await TokenService.make(authConfig, signingKey: key, refreshTokens: StorageRefreshTokenStore(driver: store.driver))
            setup.tokenEndpoint = TokenEndpoint(service: service, realIPHeader: authConfig.server?.real_ip_header,
                                                realIPPosition: authConfig.server?.real_ip_pos ?? 0,
                                                pathPrefix: TokenEndpoint.normalizedPrefix(authConfig.server?.path_prefix))
            issuer = issuer ?? authConfig.token.issuer
            roots = key.certificates
        }
        if let bundle = tokenAuth.rootCertBundle {
            guard let pem = FileManager.default.contents(atPath: bundle) else {
                throw AuthError.configuration("auth.token.rootcertbundle: cannot read \(bundle)")
            }
            roots += try TokenVerifier.loadRoots(pem: String(decoding: pem, as: UTF8.self))
        }
        var jwks: String?
        if let path = tokenAuth.jwks {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AuthError.configuration("auth.token.jwks: cannot read \(path)")
            }
            jwks = String(decoding: data, as: UTF8.self)
        }
        let verifier = try await TokenVerifier(issuer: issuer ?? "", service: tokenAuth.service, roots: roots, jwksJSON: jwks)
        setup.authorizer = RegistryAuthorizer(verifier: verifier, realm: tokenAuth.autoRedirect ? nil : tokenAuth.realm,
                                              service: tokenAuth.service, autoRedirect: tokenAuth.autoRedirect)
        return setup
    }

    /// `token.certificate`/`token.key` (falling back to `server.*` as docker_auth does), or a
    /// key generated on first run and kept in the storage.
    static func signingKey(_ config: AuthConfiguration, store: RegistryStore) async throws -> SigningKey {
        let certificate = config.token.certificate ?? config.server?.certificate
        let key = config.token.key ?? config.server?.key
        if let certificate, let key {
            guard let certPEM = FileManager.default.contents(atPath: certificate),
                  let keyPEM = FileManager.default.contents(atPath: key) else {
                throw AuthError.configuration("token: cannot read \(certificate) or \(key)")
            }
            return try SigningKey.load(keyPEM: String(decoding: keyPEM, as: UTF8.self),
                                       certificatePEM: String(decoding: certPEM, as: UTF8.self))
        }
        return try await storedSigningKey(store)
    }

    /// Kept in the storage so every replica sharing it signs with the same key.
    public static let signingCertificatePath = try! StoragePath("berth/token/certificate.pem")

    public static let signingKeyPath = try! StoragePath("berth/token/key.pem")

    static func storedSigningKey(_ store: RegistryStore) async throws -> SigningKey {
        if let key = try? await store.driver.getContent(signingKeyPath, maxSize: 64 * 1024),
           let certificate = try? await store.driver.getContent(signingCertificatePath, maxSize: 64 * 1024) {
            return try SigningKey.load(keyPEM: String(decoding: key, as: UTF8.self), certificatePEM: String(decoding: certificate, as: UTF8.self))
        }
        let generated = try SigningKey.generate()
        try await storeSigningKey(generated, in: store.driver)
        return generated
    }

    /// Writes the key (owner-readable only) before the certificate, so a certificate in the
    /// storage always has its key.
    public static func storeSigningKey(_ key: SigningKey, in driver: any StorageDriver) async throws {
        try await driver.putPrivateContent(signingKeyPath, Array(key.keyPEM.utf8))
        try await driver.putContent(signingCertificatePath, Array(try key.certificatesPEM().utf8))
    }
}


/// The zero-configuration accounts: `admin`, created on first run with a random password
/// that is printed once and kept only as a bcrypt hash in the storage.
enum BuiltInAccounts {
    static func adminHash(_ store: RegistryStore) async throws -> String {
        let path = try StoragePath("berth/accounts/admin.bcrypt")
        if let existing = try? await store.driver.getContent(path, maxSize: 1024), !existing.isEmpty {
            return String(decoding: existing, as: UTF8.self)
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let password = String((0..<24).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        let hash = PasswordHash.make(password, cost: 10)
        try await store.driver.putPrivateContent(path, Array(hash.utf8))
        // Standard output, not the log: the password must not end up in log collectors.
        FileHandle.standardOutput.write(Data("""
            ================================================================
            Berth created the account "admin" with the password:

                \(password)

            It is shown only this once; only its bcrypt hash is kept.
            Log in with:  docker login -u admin <this host>:<port>
            ================================================================

            """.utf8))
        return hash
    }
}
