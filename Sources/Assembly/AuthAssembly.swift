import Accounts
import Auth
import Config
import Foundation
import HTTPTypes
import Logging
import Server
import Storage

/// The token server and the registry's token check (an `AuthSetup`), assembled from the
/// configuration; the accounts database, the token signing key and the first-run admin.
public enum AuthAssembly {
    static func make(_ config: RegistryConfiguration, store: RegistryStore, logger: Logger) async throws -> AuthSetup {
        // Checked before anything is created (the first-run admin among it).
        _ = try AuthSetup.clientAddressPolicy(realIP: (nil, 0), trustedProxies: config.trustedProxies)
        if let htpasswd = config.htpasswdAuth {
            guard let text = FileManager.default.contents(atPath: htpasswd.path) else {
                throw AuthError.configuration("auth.htpasswd.path: cannot read \(htpasswd.path)")
            }
            let accounts = try HtpasswdAccounts(users: try Htpasswd.parse(String(decoding: text, as: UTF8.self)), readers: htpasswd.readers,
                                                writers: htpasswd.writers, realm: htpasswd.realm, limits: loginLimits(config))
            var setup = AuthSetup()
            setup.registryDoor = accounts.door
            setup.htpasswd = accounts
            return setup
        }
        guard let tokenAuth = config.tokenAuth else { return AuthSetup() }
        var setup = AuthSetup()
        var roots: [TokenVerifier.Root] = []
        var issuer = tokenAuth.issuer
        if tokenAuth.builtInAccounts {
            let key = try await storedSigningKey(store)
            let directory = try await openAccounts(config, store: store, logger: logger)
            try await BuiltInAccounts.bootstrap(directory, store: store, serving: BuiltInAccounts.Serving(config))
            // Workload tokens first: a CI job's user name is anything, which may be an account's.
            var backends: [any IdentityBackend] = [directory.accessTokens, directory]
            if let yaml = tokenAuth.workloadYAML {
                let issuers = try WorkloadIssuer.parseList(yaml: yaml, key: "auth.token.workload_auth")
                backends.insert(try WorkloadIdentities(issuers, source: HTTPKeySetSource.make()), at: 0)
                setup.warnings += Self.workloadWarnings(issuers)
            }
            var service = TokenService(
                issuer: try await TokenIssuer(issuer: issuer ?? "Berth", expiration: 900, signingKey: key),
                backends: backends, policies: directory.policies,
                refreshTokens: directory.store, limiter: limiter(config, directory))
            service.loginObserver = Self.loginRecorder(directory)
            try setup.configureSignIn(sections: tokenAuth.signInYAML)
            setup.tokenEndpoint = TokenEndpoint(service: service)
            setup.accounts = directory
            roots = key.certificates
        } else if let yaml = tokenAuth.serverYAML {
            var authConfig = try AuthConfiguration.parse(yaml: yaml)
            if let workload = tokenAuth.workloadYAML {
                authConfig.workload_auth = (authConfig.workload_auth ?? []) + (try WorkloadIssuer.parseList(yaml: workload, key: "auth.token.workload_auth"))
            }
            setup.warnings = AuthConfiguration.unsupportedKeys(yaml: yaml).map { "auth configuration key not supported by Berth, ignored: \($0)" }
            setup.warnings += Self.workloadWarnings(authConfig.workload_auth ?? [])
            let key = try await signingKey(authConfig, store: store)
            let directory = try await openAccounts(config, store: store, logger: logger)
            let service = try await tokenService(authConfig, signingKey: key, accounts: directory, limiter: limiter(config, directory))
            setup.realIP = (authConfig.server?.real_ip_header, authConfig.server?.real_ip_pos ?? 0)
            try setup.configureSignIn(authConfig)
            setup.tokenEndpoint = TokenEndpoint(service: service, pathPrefix: TokenEndpoint.normalizedPrefix(authConfig.server?.path_prefix))
            setup.accounts = directory
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
        setup.verifier = verifier
        setup.serviceName = tokenAuth.service
        setup.registryDoor = Door.registryTokens(verifier: verifier, service: tokenAuth.service,
                                                 realm: tokenAuth.autoRedirect ? nil : tokenAuth.realm, autoRedirect: tokenAuth.autoRedirect)
        return setup
    }

    /// The token service of a docker_auth configuration with the accounts database after the
    /// file's own sources: robots first, the file's users, ext_auth and LDAP, then the
    /// database's users; the file's acl, then the database's rules.
    static func tokenService(_ authConfig: AuthConfiguration, signingKey key: SigningKey, accounts directory: AccountDirectory,
                             limiter: FailedLoginLimiter = FailedLoginLimiter()) async throws -> TokenService {
        let policies = directory.policies
        var service = try await TokenService.make(authConfig, signingKey: key, refreshTokens: directory.store, limiter: limiter,
                                                  backends: [directory], precedingBackends: [directory.accessTokens], precedingPolicies: [policies[0]],
                                                  keySets: authConfig.workload_auth == nil ? nil : HTTPKeySetSource.make(),
                                                  policies: Array(policies.dropFirst()))
        service.loginObserver = Self.loginRecorder(directory)
        return service
    }

    /// An issuer without `require` admits every token it signs for the audience: on a shared
    /// issuer (GitHub, gitlab.com) that is anyone's CI job.
    static func workloadWarnings(_ issuers: [WorkloadIssuer]) -> [String] {
        issuers.filter { ($0.require ?? [:]).isEmpty }.map {
            "workload_auth: \($0.issuer) has no require: every token it signs for \($0.audience) logs in (on a shared issuer, add e.g. require: {repository_owner: YOUR-ORG})"
        }
    }

    /// The configured bounds over the defaults.
    static func loginLimits(_ config: RegistryConfiguration) -> FailedLoginLimiter.Limits {
        var limits = FailedLoginLimiter.Limits()
        let configured = config.failedLogins
        if let value = configured.perClient { limits.perClient = value }
        if let value = configured.perAddress { limits.perAddress = value }
        if let value = configured.perAccount { limits.perAccount = value }
        if let value = configured.window { limits.window = .milliseconds(Int64(value * 1000)) }
        return limits
    }

    /// The limiter of a token server with an accounts database: an admin's unlock there
    /// clears an account's failures on every replica.
    static func limiter(_ config: RegistryConfiguration, _ directory: AccountDirectory) -> FailedLoginLimiter {
        FailedLoginLimiter(limits: loginLimits(config), unlockedSince: directory.unlockedSince)
    }

    /// `auth.token.accounts`, else SQLite beside the registry's data (in memory for
    /// `storage.inmemory`, under ./data for S3).
    public static func accountsLocation(_ config: RegistryConfiguration) throws -> AccountDatabaseLocation {
        if let configured = config.tokenAuth?.accounts { return try AccountDatabaseLocation(parsing: configured) }
        switch config.storage {
        case .filesystem(let root): return .sqlite(path: (root as NSString).appendingPathComponent(BerthLayout.accountsDatabase))
        case .inMemory: return .sqliteInMemory
        // Object storage holds no database: SQLite on local disk (one replica), unless
        // `auth.token.accounts` names a shared PostgreSQL.
        case .s3: return .sqlite(path: "./data/" + BerthLayout.accountsDatabase)
        }
    }

    static func openAccounts(_ config: RegistryConfiguration, store: RegistryStore, logger: Logger) async throws -> AccountDirectory {
        var retention = AuditRetention()
        if let maxEntries = config.auditRetention.maxEntries { retention.maxEntries = maxEntries }
        if let maxAge = config.auditRetention.maxAge { retention.maxAge = maxAge }
        return try await openAccounts(try accountsLocation(config), store: store, auditRetention: retention, logger: logger)
    }

    static func openAccounts(_ location: AccountDatabaseLocation, store: RegistryStore, auditRetention: AuditRetention = AuditRetention(),
                             logger: Logger) async throws -> AccountDirectory {
        let accounts: AccountStore
        do {
            accounts = try await AccountStore.open(location, logger: logger)
        } catch {
            throw AuthError.configuration("accounts database \(location): \(error)")
        }
        try await moveStoredRefreshTokens(from: store, into: accounts, logger: logger)
        return try await AccountDirectory(store: accounts, auditRetention: auditRetention, announces: true, logger: logger)
    }

    /// Refresh tokens of Berth versions that kept them as files in the storage move into the
    /// accounts database once, so `docker login`'s saved identity tokens keep working.
    static func moveStoredRefreshTokens(from store: RegistryStore, into accounts: AccountStore, logger: Logger) async throws {
        let legacy = StorageRefreshTokenStore(driver: store.driver)
        let tokens = try await legacy.all()
        guard !tokens.isEmpty else { return }
        try await accounts.importRefreshTokens(tokens)
        for (id, _) in tokens { try await legacy.delete(id: id) }
        logger.notice("moved refresh tokens from the storage into the accounts database", metadata: ["count": "\(tokens.count)"])
    }

    static func loginRecorder(_ directory: AccountDirectory) -> @Sendable (String, IPAddress?, Bool, String?) async -> Void {
        { account, address, success, reason in
            await directory.recordLogin(account: account, address: address.map { "\($0)" }, success: success, reason: reason)
        }
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
    public static let signingCertificatePath = BerthLayout.signingCertificate

    public static let signingKeyPath = BerthLayout.signingKey

    static func storedSigningKey(_ store: RegistryStore) async throws -> SigningKey {
        if let key = try? await store.driver.getContent(signingKeyPath, maxSize: 64 * 1024),
           let certificate = try? await store.driver.getContent(signingCertificatePath, maxSize: 64 * 1024) {
            return try SigningKey.load(keyPEM: String(decoding: key, as: UTF8.self), certificatePEM: String(decoding: certificate, as: UTF8.self))
        }
        let generated = try SigningKey.generate()
        // Replicas starting at once: the first to create the key wins; the others wait for
        // its certificate, written right after the key, and use that pair.
        guard try await store.driver.createContent(signingKeyPath, Array(generated.keyPEM.utf8), privately: true) else {
            for _ in 0..<100 {
                if let key = try? await store.driver.getContent(signingKeyPath, maxSize: 64 * 1024),
                   let certificate = try? await store.driver.getContent(signingCertificatePath, maxSize: 64 * 1024) {
                    return try SigningKey.load(keyPEM: String(decoding: key, as: UTF8.self), certificatePEM: String(decoding: certificate, as: UTF8.self))
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw StorageError.io("berth/token/key.pem exists but its certificate never appeared")
        }
        try await store.driver.putContent(signingCertificatePath, Array(try generated.certificatesPEM().utf8))
        return generated
    }

    /// Writes the key (owner-readable only) before the certificate, so a certificate in the
    /// storage always has its key.
    public static func storeSigningKey(_ key: SigningKey, in driver: any StorageDriver) async throws {
        try await driver.putPrivateContent(signingKeyPath, Array(key.keyPEM.utf8))
        try await driver.putContent(signingCertificatePath, Array(try key.certificatesPEM().utf8))
    }
}

extension AuthAssembly {
    /// Checks `auth.token`'s sign-in sections (`oidc_auth`, `github_auth`, …) as `berth serve` would read them.
    public static func validateSignInProviders(sections: [String: String]) throws {
        try SignInProviders.validate(sections: sections)
    }
}
