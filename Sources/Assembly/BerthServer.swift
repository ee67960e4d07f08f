import Server
import Accounts
import Policies
import HTTPTypes
import Config
import Crypto
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import Notifications
import NIOCore
import OCI
import Client
import Mirror
import ServiceLifecycle
import Storage

/// Assembles a running registry from a configuration.
public enum BerthServer {
    public static func makeStore(_ config: RegistryConfiguration, logger: Logger) throws -> RegistryStore {
        let driver = try makeDriver(config.storage, logger: logger)
        var options = RegistryOptions(
            deleteEnabled: config.deleteEnabled,
            readOnly: config.readOnly,
            requireIndexChildren: !config.validationDisabled && config.indexPlatforms != .none,
            layerURLPolicy: LayerURLPolicy(allow: config.urlAllow, deny: config.urlDeny))
        options.redirectBlobs = !config.redirectDisabled
        return RegistryStore(driver: driver, options: options, redirect: try makeRedirect(config.storageMiddleware), logger: logger)
    }

    /// Distribution's storage middlewares as the store's blob redirect (the driver's own otherwise).
    static func makeRedirect(_ middlewares: [RegistryConfiguration.StorageMiddleware]) throws -> any BlobRedirect {
        guard let middleware = middlewares.first else { return DriverRedirect() }
        let options = middleware.options
        switch middleware.name {
        case "cloudfront":
            let keyPath = options["privatekey"]!
            guard let pem = FileManager.default.contents(atPath: keyPath) else {
                throw ConfigError("middleware cloudfront: cannot read privatekey \(keyPath)")
            }
            return try CloudFrontRedirect(baseURL: options["baseurl"]!, privateKeyPEM: String(decoding: pem, as: UTF8.self),
                                          keyPairID: options["keypairid"]!, duration: options["duration"].flatMap(GoDuration.seconds) ?? 1200)
        default:
            return try BaseURLRedirect(baseURL: options["baseurl"]!)
        }
    }

    /// The one place a configured storage backend becomes a driver.
    public static func makeDriver(_ storage: RegistryConfiguration.StorageBackend, logger: Logger) throws -> any StorageDriver {
        switch storage {
        case .filesystem(let root): return try FilesystemDriver(rootDirectory: root)
        case .inMemory: return InMemoryDriver()
        case .s3(let settings): return try S3Driver(configuration: try s3Configuration(settings), logger: logger)
        }
    }

    static func s3Configuration(_ s: S3StorageSettings) throws -> S3Configuration {
        let credentials: any AWSCredentialProvider
        do {
            credentials = try AWSCredentialChain.resolve(accessKey: s.accessKey, secretKey: s.secretKey, region: s.region)
        } catch {
            throw ConfigError("\(error)")
        }
        var c = S3Configuration(bucket: s.bucket, region: s.region, credentials: credentials)
        c.regionEndpoint = s.regionEndpoint
        c.forcePathStyle = s.forcePathStyle
        c.rootDirectory = s.rootDirectory
        c.encrypt = s.encrypt
        c.keyID = s.keyID
        c.secure = s.secure
        c.skipVerify = s.skipVerify
        c.v4Auth = s.v4Auth
        c.chunkSize = s.chunkSize
        c.multipartCopyChunkSize = s.multipartCopyChunkSize
        c.multipartCopyMaxConcurrency = s.multipartCopyMaxConcurrency
        c.multipartCopyThresholdSize = s.multipartCopyThresholdSize
        c.storageClass = s.storageClass
        c.objectACL = s.objectACL
        c.logLevel = s.logLevel
        c.redirectEndpoint = s.redirectEndpoint
        return c
    }

    /// What the registry API serves: the store, behind the pull-through cache when upstreams
    /// are configured.
    public static func makeContent(_ config: RegistryConfiguration, store: RegistryStore, logger: Logger) throws -> any RegistryContent {
        guard !config.proxyUpstreams.isEmpty else { return store }
        let upstreams = try config.proxyUpstreams.map { settings in
            var options = RegistryClient.Options(tlsVerify: settings.tlsVerify, caFile: settings.caFile)
            options.userAgent = "berth-mirror"
            options.tokenHosts = settings.tokenHosts
            options.timeout = 60
            let credentials: RegistryCredentials = settings.username.map { .basic(username: $0, password: settings.password ?? "") } ?? .anonymous
            let helper = try settings.execCommand.map { try CredentialHelper(command: $0, serverURL: settings.remoteURL, lifetime: settings.execLifetime) }
            let client = try RegistryClient.lazy(baseURL: settings.remoteURL, credentials: credentials, helper: helper, options: options)
            // A fallback gets its own credentials, or none: the upstream's belong to its host
            // (a fallback on the same host and port shares them).
            let failover = try settings.fallbackURLs.map { url in
                if let login = settings.fallbackLogins[url] {
                    return try RegistryClient.lazy(baseURL: url, credentials: .basic(username: login.username, password: login.password), options: options)
                }
                let sameHost = URL(string: url).map { URL(string: settings.remoteURL)?.host == $0.host && URL(string: settings.remoteURL)?.port == $0.port } ?? false
                return try RegistryClient.lazy(baseURL: url, credentials: sameHost ? credentials : .anonymous, helper: sameHost ? helper : nil,
                                               options: options)
            }
            return Upstream(prefix: settings.prefix, client: client, failover: failover, tagTTL: settings.tagTTL,
                            repositories: settings.repositories, retention: settings.ttl)
        }
        return MirroringContent(local: store, upstreams: upstreams, spoolDirectory: config.proxySpoolDirectory ?? NSTemporaryDirectory(),
                                logger: logger)
    }

    public static func apiOptions(_ config: RegistryConfiguration) -> APIOptions {
        var options = APIOptions()
        options.prefix = config.httpPrefix
        options.host = config.httpHost
        options.trustedProxies = config.trustedProxies
        options.relativeURLs = config.relativeURLs
        options.extraHeaders = config.httpHeaders
        options.catalogMaxEntries = config.catalogMaxEntries
        options.tagsMaxTags = config.tagsMaxTags
        options.accessLog = !config.accessLogDisabled
        options.servesTLS = config.tls != nil
        return options
    }

    /// The secret that signs upload state: `http.secret`, else one generated once and kept
    /// in the storage, so uploads survive restarts and replicas sharing storage agree.
    public static func uploadSecret(_ config: RegistryConfiguration, store: RegistryStore) async throws -> [UInt8] {
        if let secret = config.httpSecret, !secret.isEmpty { return Array(secret.utf8) }
        return try await store.sharedSecret()
    }

    /// Said at start and in `/readyz` when no `auth` section protects the registry.
    static func openRegistryWarning(_ store: RegistryStore) -> String {
        let deletes = store.options.deleteEnabled && !store.options.readOnly ? ", delete" : ""
        let writes = store.options.readOnly ? "pull" : "pull, push\(deletes)"
        return "no auth configured: this registry is OPEN, anyone who can reach it may \(writes) and list every repository; "
            + "add an auth section (auth: {token: {accounts: sqlite:PATH}} keeps Berth's built-in accounts)"
    }

    /// The registry API over `content`: its events go to the notifier and the audit trail.
    static func makeAPI(content: any RegistryContent, options: APIOptions, secret: [UInt8], auth: AuthSetup, metrics: RegistryMetrics?,
                        notifier: Notifier?, logger: Logger) -> RegistryAPI {
        RegistryAPI(store: content, options: options, secret: secret, door: auth.registryDoor,
                    metrics: metrics, notifier: notifier, auditTrail: auth.accounts.map(ContentAuditTrail.init), logger: logger)
    }

    /// The capabilities `berth serve` answers requests with, in one list: health, the token
    /// endpoint, the admin API, the web UI, the registry API.
    static func makeFeatures(store: RegistryStore, api: RegistryAPI, mirrorNamespaces: [String: String] = [:],
                             options: APIOptions, secret: [UInt8], auth: AuthSetup, tokenEndpoint: TokenEndpoint?,
                             retentionLock: RunLock = RunLock(), quotaUsage: NamespaceUsage? = nil,
                             logger: Logger) throws -> [any BerthFeature] {
        var healthWarnings = auth.registryDoor == nil ? [Self.openRegistryWarning(store)] : []
        if store.options.readOnly { healthWarnings.append("read-only mode (storage.maintenance.readonly): pushes and deletes are refused") }
        var features: [any BerthFeature] = [HealthFeature(store: store, warnings: healthWarnings)]
        if let tokenEndpoint { features.append(TokenEndpointFeature(endpoint: tokenEndpoint)) }
        var admin: AdminAPI?
        var adminDoor: AdminAccessMiddleware?
        if let directory = auth.accounts, let tokenEndpoint {
            adminDoor = AdminAccessMiddleware(service: tokenEndpoint.service, serviceName: auth.serviceName, verifier: auth.verifier)
            admin = AdminAPI(accounts: AccountAdministration(directory: directory), service: tokenEndpoint.service,
                             retention: RetentionRunner(api: api, store: store, directory: directory, logger: logger, lock: retentionLock),
                             quotaUsage: quotaUsage)
        }
        features.append(AdminFeature(api: api, directory: auth.accounts, admin: admin, adminDoor: adminDoor))
        if let webUI = try WebUI.make(store: store, api: api, options: options, secret: secret, auth: auth, quotaUsage: quotaUsage) {
            features.append(WebUIFeature(ui: webUI))
        }
        features.append(RegistryFeature(api: api, mirrorNamespaces: mirrorNamespaces, prefix: options.prefix))
        return features
    }

    /// The router of `features`, behind the shared middlewares, under `http.prefix`.
    static func makeRouter(_ features: [any BerthFeature], options: APIOptions, auth: AuthSetup, metrics: RegistryMetrics?,
                           logger: Logger) throws -> Router<BerthRequestContext> {
        let prefix = options.prefix
        let router = BerthRouter.make(
            .init(prefix: prefix, accessLog: options.accessLog, extraHeaders: options.extraHeaders,
                  metricsPath: metrics == nil ? nil : options.metricsPath,
                  clientAddress: try AuthSetup.clientAddressPolicy(realIP: auth.realIP, trustedProxies: options.trustedProxies)),
            metrics: metrics, logger: logger)
        let root = prefix == "/" ? router.group() : router.group(RouterPath(String(prefix.dropLast())))
        for feature in features { feature.register(on: root) }
        return router
    }

    public static func makeApplication(_ config: RegistryConfiguration, store: RegistryStore? = nil, logger: Logger,
                                       onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) async throws -> some ApplicationProtocol {
        let store = try store ?? makeStore(config, logger: logger)
        let secret = try await uploadSecret(config, store: store)
        let auth = try await AuthAssembly.make(config, store: store, logger: logger)
        for warning in auth.warnings { logger.warning("\(warning)") }
        if auth.registryDoor == nil { logger.warning("WARNING: \(openRegistryWarning(store))") }
        let metrics = config.prometheusEnabled ? RegistryMetrics() : nil
        if let metrics { auth.accounts?.observeAuditNotItemised { metrics.auditRefusalsNotItemised($0) } }
        var options = apiOptions(config)
        if config.debugAddr == nil, config.prometheusEnabled { options.metricsPath = config.prometheusPath }
        let (host, port) = try config.listenAddress()
        let notifier = try makeNotifier(config, store: store, port: port, metrics: metrics, logger: logger)
        var content = try makeContent(config, store: store, logger: logger)
        // Repository policies live beside the accounts (edited live like rules).
        let quotaUsage = NamespaceUsage(store: store)
        if let accounts = auth.accounts {
            content = PolicedContent(content, policies: AccountPolicies(directory: accounts, usage: quotaUsage,
                                                                                 tagPulls: TagPullRecorder(store: store)))
            metrics?.addCollector { metrics in
                for row in await QuotaUsage.report(accounts.snapshot.repositoryPolicies, usage: quotaUsage) {
                    metrics.namespaceQuota(row.namespace, limit: row.limit, used: row.used)
                }
            }
        }
        var namespaces: [String: String] = [:]
        for upstream in config.proxyUpstreams where !upstream.prefix.isEmpty {
            for namespace in upstream.namespaces { namespaces[namespace.lowercased()] = upstream.prefix }
        }
        let retentionLock = RunLock()
        var tokenEndpoint = auth.tokenEndpoint
        tokenEndpoint?.metrics = metrics
        let api = makeAPI(content: content, options: options, secret: secret, auth: auth, metrics: metrics, notifier: notifier, logger: logger)
        var features = try makeFeatures(store: store, api: api, mirrorNamespaces: namespaces, options: options, secret: secret, auth: auth,
                                        tokenEndpoint: tokenEndpoint, retentionLock: retentionLock,
                                        quotaUsage: auth.accounts == nil ? nil : quotaUsage, logger: logger)
        features += try backgroundFeatures(config, store: store, content: content, api: api, auth: auth, secret: secret, notifier: notifier,
                                           metrics: metrics, retentionLock: retentionLock, logger: logger)
        let router = try makeRouter(features, options: options, auth: auth, metrics: metrics, logger: logger)
        let server = try ServerChannel.make(certificate: config.tls?.certificate, key: config.tls?.key, limits: ConnectionLimits(
            headerTimeout: .milliseconds(Int64(config.headerTimeout * 1000)), perAddress: config.connectionsPerAddress))
        let services: [any Service] = [ShutdownAnnouncer(logger: logger)] + features.flatMap(\.services)
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            services: services,
            onServerRunning: onServerRunning,
            logger: logger)
    }
}

extension BerthServer {
    /// What runs beside the server: the notifier's queues, the accounts' poller, retention's
    /// and the upload purger's schedules, provider revalidation, the debug listener, the mirror's
    /// connections and retention.
    static func backgroundFeatures(_ config: RegistryConfiguration, store: RegistryStore, content: any RegistryContent, api: RegistryAPI,
                                   auth: AuthSetup, secret: [UInt8], notifier: Notifier?, metrics: RegistryMetrics?,
                                   retentionLock: RunLock, logger: Logger) throws -> [any BerthFeature] {
        var services: [any Service] = []
        if let notifier { services.append(notifier) }
        if let accounts = auth.accounts { services.append(accounts) }
        if let accounts = auth.accounts, config.retentionInterval > 0, !config.readOnly {
            services.append(RetentionSchedule(runner: RetentionRunner(api: api, store: store, directory: accounts, logger: logger, lock: retentionLock),
                                              interval: config.retentionInterval))
        }
        if let revalidation = auth.providerRevalidation(secret: secret, logger: logger) { services.append(revalidation) }
        if let debugAddr = config.debugAddr, let metrics {
            services.append(try MetricsServer.make(address: debugAddr, path: config.prometheusPath, metrics: metrics, logger: logger))
        }
        if let mirror = content as? MirroringContent {
            services.append(MirrorConnections(mirror: mirror))
            if config.proxyUpstreams.contains(where: { $0.ttl > 0 }) {
                services.append(MirrorRetention(mirror: mirror, interval: config.proxyRetentionInterval, logger: logger))
            }
        }
        if config.uploadPurging.enabled {
            services.append(UploadPurger(store: store, age: config.uploadPurging.age, interval: config.uploadPurging.interval,
                                         dryRun: config.uploadPurging.dryRun, logger: logger))
        }
        return services.map(BackgroundFeature.init)
    }

    /// The webhook notifier for `notifications.endpoints`, or nil when none is enabled.
    /// Undelivered events wait in the storage under `berth/notifications/`.
    static func makeNotifier(_ config: RegistryConfiguration, store: RegistryStore, port: Int, metrics: RegistryMetrics?,
                             logger: Logger) throws -> Notifier? {
        let endpoints = config.notificationEndpoints.filter { !$0.disabled }.map { e in
            Notifier.Endpoint(settings: .init(name: e.name, url: e.url, headers: e.headers, timeout: e.timeout,
                                              threshold: e.threshold, backoff: e.backoff),
                              ignoredMediaTypes: e.ignoredMediaTypes, ignoredActions: e.ignoredActions)
        }
        guard !endpoints.isEmpty else { return nil }
        var observe: (@Sendable (String, DeliveryOutcome) -> Void)?
        if let metrics {
            observe = { endpoint, outcome in metrics.notification(endpoint: endpoint, result: outcome.rawValue) }
        }
        return try Notifier(endpoints: endpoints, driver: store.driver, sourceAddress: "\(ProcessInfo.processInfo.hostName):\(port)",
                            includeReferences: config.notificationIncludeReferences, logger: logger,
                            observe: observe)
    }
}
