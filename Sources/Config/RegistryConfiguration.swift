import Foundation
import OCI

/// The subset of Distribution's `config.yml` that Berth implements, with Distribution's
/// defaults, plus Berth's own defaults for running with no configuration file.
public struct RegistryConfiguration: Sendable {
    public enum StorageBackend: Sendable, Equatable {
        case filesystem(rootDirectory: String)
        case inMemory
        case s3(S3StorageSettings)
    }

    /// One of `middleware.storage` (Distribution's `redirect` and `cloudfront`): its options as written.
    public struct StorageMiddleware: Sendable, Equatable {
        public var name: String
        public var options: [String: String]

        public init(name: String, options: [String: String]) {
            self.name = name
            self.options = options
        }
    }

    public struct UploadPurging: Sendable, Equatable {
        public var enabled = true
        public var age: Double = 168 * 3600
        public var interval: Double = 24 * 3600
        public var dryRun = false
    }

    public struct TLS: Sendable, Equatable {
        public var certificate: String
        public var key: String
    }

    public enum IndexPlatforms: String, Sendable {
        case all, none, list
    }

    public var version = "0.1"
    public var logLevel = "info"
    public var logFormatter = "text"
    public var accessLogDisabled = false
    public var logFields: [(String, String)] = []

    public var storage: StorageBackend = .filesystem(rootDirectory: "./data")
    public var deleteEnabled = true
    /// `storage.redirect.disable`: blob GETs are proxied even where the driver can redirect.
    public var redirectDisabled = false
    public var readOnly = false
    public var uploadPurging = UploadPurging()
    /// `storage.maintenance.retention.interval`: how often the retention policies run inside
    /// serve (one replica at a time); 0 turns the schedule off (`berth policy retention run` still works).
    public var retentionInterval: Double = 24 * 3600
    /// `middleware.storage`, enabled entries in order.
    public var storageMiddleware: [StorageMiddleware] = []

    public var httpAddr = ":5000"
    public var httpHost: String?
    public var httpPrefix = "/"
    public var httpSecret: String?
    public var relativeURLs = false
    /// `http.trustedproxies`: addresses or CIDR ranges whose `X-Forwarded-*`/`Forwarded`
    /// headers are believed; nil: loopback and private networks.
    public var trustedProxies: [String]?
    public var httpHeaders: [(String, [String])] = []
    public var tls: TLS?
    /// Berth's `http.limits`: how long a request header may take to arrive (seconds) and
    /// how many connections one client address may hold open (0: no limit).
    public var headerTimeout: Double = 30
    public var connectionsPerAddress = 256

    /// `http.debug.addr`: a second listener for metrics; without it metrics (when enabled)
    /// are served on the main port.
    public var debugAddr: String?
    public var prometheusEnabled = false
    public var prometheusPath = "/metrics"

    public var catalogMaxEntries = 1000
    public var tagsMaxTags = 1000
    public var validationDisabled = false
    public var indexPlatforms: IndexPlatforms = .all
    public var urlAllow: [String] = []
    public var urlDeny: [String] = []

    /// `auth.token`: clients need a bearer token from `realm`; tokens are verified against
    /// `rootcertbundle`, or against Berth's own key when Berth is the token server.
    public struct TokenAuth: Sendable, Equatable {
        public var realm: String?
        public var service: String
        public var issuer: String?
        public var rootCertBundle: String?
        /// Distribution 3's `jwks`: a JSON Web Key Set file whose keys are trusted by `kid`.
        public var jwks: String?
        public var autoRedirect = false
        /// Berth's built-in token server, as a docker_auth `auth_config.yml` document.
        public var serverYAML: String?
        /// The zero-configuration token server: an `admin` account kept in the storage.
        public var builtInAccounts = false
        /// `auth.token.accounts`: the accounts database when Berth is the token server
        /// (`sqlite:PATH` or `postgres://…`); nil: SQLite under the storage root.
        public var accounts: String?
        /// `auth.token.workload_auth`: issuers whose CI tokens log in (the same list as an
        /// auth_config.yml's `workload_auth`), as YAML for the token server to read.
        public var workloadYAML: String?
        /// `auth.token.oidc_auth`, `github_auth`, `gitlab_auth`, `google_auth`: people sign in
        /// through a provider (the same sections as an auth_config.yml's), as YAML for the
        /// token server to read, by section name.
        public var signInYAML: [String: String] = [:]

        /// Token auth with Berth as its own token server and an `admin` account.
        public static let builtIn: TokenAuth = {
            var auth = TokenAuth(service: "Berth registry", issuer: "Berth")
            auth.builtInAccounts = true
            return auth
        }()

        public init(realm: String? = nil, service: String, issuer: String? = nil, rootCertBundle: String? = nil,
                    autoRedirect: Bool = false, serverYAML: String? = nil) {
            self.realm = realm
            self.service = service
            self.issuer = issuer
            self.rootCertBundle = rootCertBundle
            self.autoRedirect = autoRedirect
            self.serverYAML = serverYAML
        }
    }

    public var tokenAuth: TokenAuth?

    /// `auth.htpasswd` (Basic auth), with Berth's `readers`/`writers` lists.
    public struct HtpasswdAuth: Sendable, Equatable {
        public var realm: String
        public var path: String
        public var readers: [String]?
        public var writers: [String]?

        public init(realm: String, path: String, readers: [String]? = nil, writers: [String]? = nil) {
            self.realm = realm
            self.path = path
            self.readers = readers
            self.writers = writers
        }
    }

    public var htpasswdAuth: HtpasswdAuth?

    /// `auth.token.failedlogins` / `auth.htpasswd.failedlogins`: the failed-login limiter's
    /// bounds (see the README's security section); nil fields keep the defaults.
    public struct FailedLogins: Sendable, Equatable {
        public var perClient: Int?
        public var perAddress: Int?
        public var perAccount: Int?
        /// Seconds.
        public var window: Double?
        public init() {}
    }

    public var failedLogins = FailedLogins()

    /// `auth.token.audit`: how much of the audit log is kept (the newest `maxentries`, none
    /// older than `maxage`); nil fields keep the defaults (1,000,000 entries, 365 days).
    public struct AuditRetentionSettings: Sendable, Equatable {
        public var maxEntries: Int?
        /// Seconds.
        public var maxAge: Double?
        public init() {}
    }

    public var auditRetention = AuditRetentionSettings()

    public var notificationEndpoints: [NotificationEndpoint] = []

    /// `proxy`: registries mirrored by the pull-through cache.
    public var proxyUpstreams: [ProxyUpstream] = []
    /// Where blobs being fetched from an upstream are spooled for concurrent readers.
    public var proxySpoolDirectory: String?
    /// How often cached content is checked against the upstreams' retention (`ttl`).
    public var proxyRetentionInterval: Double = 3600
    public var notificationIncludeReferences = false

    /// `berth serve --admin-password-file`: the first admin's password goes to this file
    /// (created 0600) instead of standard output. Not a configuration-file key.
    public var firstRunPasswordFile: String?

    /// Problems worth telling the operator that do not stop the registry (unknown keys).
    public var warnings: [String] = []
    /// Keys of the file that nothing reads (a typo, or a setting Berth does not have), each
    /// with its likely intended key when one is near; `--strict` refuses to run with any.
    public var ignoredKeys: [String] = []

    /// Berth's configuration when none is given: filesystem storage under ./data on :5000.
    public init() {}

    /// Parses a Distribution-style YAML document, applying `REGISTRY_*` overrides from `environment`.
    public init(yaml: String, environment: [String: String] = [:]) throws {
        var tree = try ConfigNode.parse(yaml: yaml)
        guard case .map = tree else { throw ConfigError("configuration must be a YAML mapping") }
        let applied = EnvironmentOverrides.apply(environment, to: &tree)
        do {
            try self.init(tree: tree, requireVersion: true)
        } catch let error as ConfigError {
            throw applied.explain(error)
        }
        warnings += applied.ignored
    }

    /// The embedded default, with `REGISTRY_*` overrides from `environment` applied.
    public static func embeddedDefault(environment: [String: String] = [:]) throws -> RegistryConfiguration {
        var tree = ConfigNode.map([])
        let applied = EnvironmentOverrides.apply(environment, to: &tree)
        if case .map(let pairs) = tree, pairs.isEmpty {
            var config = RegistryConfiguration()
            config.tokenAuth = .builtIn
            config.warnings = applied.ignored
            return config
        }
        var config: RegistryConfiguration
        do {
            config = try RegistryConfiguration(tree: tree, requireVersion: false)
        } catch let error as ConfigError {
            throw applied.explain(error)
        }
        config.warnings += applied.ignored
        if tree["storage"]?["delete"] == nil { config.deleteEnabled = true }
        if tree["storage"] == nil { config.storage = .filesystem(rootDirectory: "./data") }
        if tree["auth"] == nil { config.tokenAuth = .builtIn }
        return config
    }

    init(tree: ConfigNode, requireVersion: Bool) throws {
        let r = ConfigReader(tree)
        if let v = try r.string("version") {
            version = v
        } else if requireVersion {
            throw ConfigError("version: the configuration must declare a version (0.1)")
        }
        if let level = try r.string("log.level") ?? r.string("loglevel") {
            let allowed = ["error", "warn", "info", "debug"]
            guard allowed.contains(level.lowercased()) else {
                throw ConfigError("log.level: must be one of \(allowed.joined(separator: ", ")), got \(level)")
            }
            logLevel = level.lowercased()
        }
        if let formatter = try r.string("log.formatter") {
            guard ["text", "json"].contains(formatter.lowercased()) else {
                throw ConfigError("log.formatter: must be text or json, got \(formatter)")
            }
            logFormatter = formatter.lowercased()
        }
        accessLogDisabled = try r.bool("log.accesslog.disabled") ?? false
        r.consume("log.fields")
        if case .map(let pairs)? = r.node("log.fields") {
            logFields = pairs.compactMap { if case .scalar(let v) = $0.value { ($0.key, v) } else { nil } }
        }

        // Storage: exactly one driver, plus Distribution's reserved keys.
        let reserved: Set<String> = ["maintenance", "cache", "delete", "redirect", "tag"]
        var drivers: [String] = []
        if case .map(let pairs)? = r.node("storage") {
            drivers = pairs.map { $0.key.lowercased() }.filter { !reserved.contains($0) }
        }
        if drivers.count > 1 {
            throw ConfigError("storage: exactly one driver must be configured, found \(drivers.joined(separator: ", "))")
        }
        switch drivers.first {
        case "filesystem":
            storage = .filesystem(rootDirectory: try r.string("storage.filesystem.rootdirectory") ?? "/var/lib/registry")
            _ = try r.int("storage.filesystem.maxthreads")
        case "inmemory":
            r.consume("storage.inmemory")
            storage = .inMemory
        case let s3? where s3 == "s3" || s3 == "s3aws":
            storage = .s3(try S3StorageSettings.read(r, section: s3))
        case nil:
            if requireVersion { throw ConfigError("storage: no storage driver configured (filesystem, s3 or inmemory)") }
        case let other?:
            let suggestion = KeySuggestion.nearest(to: other, among: ["filesystem", "s3", "s3aws", "inmemory"]).map { " (did you mean \($0)?)" } ?? ""
            throw ConfigError("storage.\(other): storage driver not supported by Berth yet\(suggestion) (filesystem, s3, inmemory)")
        }
        redirectDisabled = try r.bool("storage.redirect.disable") ?? false
        deleteEnabled = try r.bool("storage.delete.enabled") ?? (requireVersion ? false : true)
        readOnly = try r.bool("storage.maintenance.readonly.enabled") ?? false
        if let enabled = try r.bool("storage.maintenance.uploadpurging.enabled") { uploadPurging.enabled = enabled }
        if let age = try r.duration("storage.maintenance.uploadpurging.age") { uploadPurging.age = age }
        if let interval = try r.duration("storage.maintenance.uploadpurging.interval") { uploadPurging.interval = interval }
        if let dryRun = try r.bool("storage.maintenance.uploadpurging.dryrun") { uploadPurging.dryRun = dryRun }
        storageMiddleware = try Self.storageMiddleware(r)
        if let interval = try r.duration("storage.maintenance.retention.interval") {
            guard interval >= 0 else { throw ConfigError("storage.maintenance.retention.interval must not be negative") }
            retentionInterval = interval
        }
        if uploadPurging.enabled, uploadPurging.interval <= 0 || uploadPurging.age <= 0 {
            throw ConfigError("storage.maintenance.uploadpurging: age and interval must be positive")
        }

        if let addr = try r.string("http.addr") { httpAddr = addr }
        if let net = try r.string("http.net"), net != "tcp" {
            throw ConfigError("http.net: only tcp is supported, got \(net)")
        }
        if let host = try r.string("http.host") {
            guard let url = URL(string: host), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw ConfigError("http.host: must be an absolute http(s) URL, got \(host)")
            }
            httpHost = host.hasSuffix("/") ? String(host.dropLast()) : host
        }
        if var prefix = try r.string("http.prefix") {
            if !prefix.hasPrefix("/") { prefix = "/" + prefix }
            if !prefix.hasSuffix("/") { prefix += "/" }
            httpPrefix = prefix
        }
        httpSecret = try r.string("http.secret")
        relativeURLs = try r.bool("http.relativeurls") ?? false
        trustedProxies = try r.stringList("http.trustedproxies")
        r.consume("http.headers")
        if let headers = r.node("http.headers") {
            guard case .map(let pairs) = headers else { throw ConfigError("http.headers: expected a mapping of header names to lists") }
            httpHeaders = try pairs.map { pair in
                switch pair.value {
                case .scalar(let s): return (pair.key, [s])
                case .list(let items):
                    return (pair.key, try items.map {
                        guard case .scalar(let s) = $0 else { throw ConfigError("http.headers.\(pair.key): expected strings") }
                        return s
                    })
                default: throw ConfigError("http.headers.\(pair.key): expected a list of strings")
                }
            }
        }
        if let timeout = try r.duration("http.limits.headertimeout") {
            guard timeout > 0 else { throw ConfigError("http.limits.headertimeout must be positive") }
            headerTimeout = timeout
        }
        if let perAddress = try r.int("http.limits.connectionsperaddress") {
            guard perAddress >= 0 else { throw ConfigError("http.limits.connectionsperaddress must be 0 (no limit) or more") }
            connectionsPerAddress = perAddress
        }
        debugAddr = try r.string("http.debug.addr")
        prometheusEnabled = try r.bool("http.debug.prometheus.enabled") ?? false
        if let path = try r.string("http.debug.prometheus.path") {
            guard path.hasPrefix("/"), !path.hasPrefix("/v2") else { throw ConfigError("http.debug.prometheus.path: must start with / and not be under /v2") }
            prometheusPath = path
        }
        let certificate = try r.string("http.tls.certificate")
        let key = try r.string("http.tls.key")
        switch (certificate, key) {
        case (let c?, let k?): tls = TLS(certificate: c, key: k)
        case (nil, nil): break
        default: throw ConfigError("http.tls: both certificate and key are required")
        }

        if let n = try r.int("catalog.maxentries") {
            guard n > 0 else { throw ConfigError("catalog.maxentries: must be positive") }
            catalogMaxEntries = n
        }
        if let n = try r.int("tags.maxtags") {
            guard n > 0 else { throw ConfigError("tags.maxtags: must be positive") }
            tagsMaxTags = n
        }
        validationDisabled = try r.bool("validation.disabled") ?? false
        if let platforms = try r.string("validation.manifests.indexes.platforms") {
            guard let value = IndexPlatforms(rawValue: platforms.lowercased()) else {
                throw ConfigError("validation.manifests.indexes.platforms: must be all, none or list")
            }
            indexPlatforms = value
        }
        urlAllow = try r.stringList("validation.manifests.urls.allow") ?? []
        urlDeny = try r.stringList("validation.manifests.urls.deny") ?? []
        for pattern in urlAllow + urlDeny where (try? NSRegularExpression(pattern: pattern)) == nil {
            throw ConfigError("validation.manifests.urls: invalid regular expression \(pattern)")
        }

        try readAuth(r)
        let endpointWarnings = try readNotifications(r)
        let proxyWarnings = try readProxy(r)

        ignoredKeys = r.unknownKeysWithSuggestions() + endpointWarnings + proxyWarnings
        warnings = ignoredKeys.map { "unknown or unsupported configuration key ignored: \($0)" }
    }

    private mutating func readAuth(_ r: ConfigReader) throws {
        guard case .map(let methods)? = r.node("auth") else {
            r.consume("auth")
            return
        }
        let configured = methods.map { $0.key.lowercased() }
        if configured.filter({ $0 != "none" }).count > 1 {
            throw ConfigError("auth: configure one access control method, found \(configured.joined(separator: ", "))")
        }
        for method in ["token", "htpasswd"] where configured.contains(method) {
            let prefix = "auth.\(method).failedlogins"
            failedLogins.perClient = try r.int(prefix + ".perclient")
            failedLogins.perAddress = try r.int(prefix + ".peraddress")
            failedLogins.perAccount = try r.int(prefix + ".peraccount")
            failedLogins.window = try r.duration(prefix + ".window")
            for (key, value) in [("perclient", failedLogins.perClient), ("peraddress", failedLogins.perAddress), ("peraccount", failedLogins.perAccount)] {
                if let value, value < 1 { throw ConfigError("\(prefix).\(key) must be at least 1") }
            }
            if let window = failedLogins.window, window < 1 { throw ConfigError("\(prefix).window must be at least 1s") }
        }
        if configured.contains("htpasswd") {
            guard let path = try r.string("auth.htpasswd.path") else { throw ConfigError("auth.htpasswd.path is required") }
            htpasswdAuth = HtpasswdAuth(realm: try r.string("auth.htpasswd.realm") ?? "Berth registry", path: path,
                                        readers: try r.stringList("auth.htpasswd.readers"), writers: try r.stringList("auth.htpasswd.writers"))
            return
        }
        for method in configured where method != "token" && method != "none" {
            // Never start an open registry because an access control method was not understood.
            let suggestion = KeySuggestion.nearest(to: method, among: ["token", "htpasswd", "none"]).map { " (did you mean \($0)?)" } ?? ""
            throw ConfigError("auth.\(method): not supported by Berth yet\(suggestion) (token, htpasswd, none)")
        }
        r.consume("auth.none")
        guard r.has("auth.token") else { return }
        auditRetention.maxEntries = try r.int("auth.token.audit.maxentries")
        auditRetention.maxAge = try r.duration("auth.token.audit.maxage")
        if let value = auditRetention.maxEntries, value < 1000 { throw ConfigError("auth.token.audit.maxentries must be at least 1000") }
        if let value = auditRetention.maxAge, value < 86400 { throw ConfigError("auth.token.audit.maxage must be at least 24h") }
        var token = TokenAuth(service: try r.string("auth.token.service") ?? "Berth registry")
        token.realm = try r.string("auth.token.realm")
        token.issuer = try r.string("auth.token.issuer")
        token.rootCertBundle = try r.string("auth.token.rootcertbundle")
        token.autoRedirect = try r.bool("auth.token.autoredirect") ?? false
        token.jwks = try r.string("auth.token.jwks")
        token.accounts = try r.string("auth.token.accounts")
        if let workload = r.node("auth.token.workload_auth") {
            r.consume("auth.token.workload_auth")
            guard case .list = workload else { throw ConfigError("auth.token.workload_auth: expected a list of issuers") }
            token.workloadYAML = workload.yaml()
        }
        for section in Self.signInSections {
            guard let node = r.node("auth.token.\(section)") else { continue }
            r.consume("auth.token.\(section)")
            guard case .map = node else { throw ConfigError("auth.token.\(section): expected a mapping (client_id, …)") }
            token.signInYAML[section] = node.yaml()
        }
        if let path = try r.string("auth.token.authconfig") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError("auth.token.authconfig: cannot read \(path)")
            }
            token.serverYAML = String(decoding: data, as: UTF8.self)
        } else if let server = r.node("auth.token.server") {
            r.consume("auth.token.server")
            token.serverYAML = server.yaml()
        }
        if token.serverYAML == nil, token.accounts != nil || token.workloadYAML != nil || !token.signInYAML.isEmpty, token.realm == nil,
           token.rootCertBundle == nil, token.jwks == nil {
            // Only a database (or workload issuers) named: Berth is the token server with its accounts there.
            token.builtInAccounts = true
            token.issuer = token.issuer ?? "Berth"
        } else if token.serverYAML == nil {
            guard token.realm != nil || token.autoRedirect, token.issuer != nil, token.rootCertBundle != nil || token.jwks != nil else {
                throw ConfigError("auth.token: realm, issuer and rootcertbundle (or jwks) are required unless Berth is the token server (auth.token.server or auth.token.authconfig)")
            }
        }
        tokenAuth = token
    }

    /// The listen address as host and port; `:5000` means all interfaces.
    public func listenAddress() throws -> (host: String, port: Int) {
        guard let colon = httpAddr.lastIndex(of: ":"), let port = Int(httpAddr[httpAddr.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ConfigError("http.addr: expected HOST:PORT, got \(httpAddr)")
        }
        var host = String(httpAddr[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// The effective configuration as YAML, with secrets masked. `failedLoginDefaults` are
    /// the limiter's own defaults by key (perclient, peraddress, peraccount, window), shown
    /// for bounds the file leaves unset.
    public func effectiveYAML(failedLoginDefaults: [String: String] = [:]) -> String {
        func s(_ v: String) -> ConfigNode { .scalar(v) }
        func b(_ v: Bool) -> ConfigNode { .scalar(v ? "true" : "false") }
        let storageNode: (key: String, value: ConfigNode)
        switch storage {
        case .filesystem(let root): storageNode = ("filesystem", .map([("rootdirectory", s(root))]))
        case .inMemory: storageNode = ("inmemory", .map([]))
        case .s3(let s3):
            var node: [(key: String, value: ConfigNode)] = [("bucket", s(s3.bucket)), ("region", s(s3.region))]
            if let endpoint = s3.regionEndpoint { node.append(("regionendpoint", s(endpoint))) }
            node += [("forcepathstyle", b(s3.forcePathStyle)), ("rootdirectory", s(s3.rootDirectory)),
                     ("accesskey", s(s3.accessKey == nil ? "(from the environment)" : "********")),
                     ("secretkey", s(s3.secretKey == nil ? "(from the environment)" : "********")),
                     ("encrypt", b(s3.encrypt)), ("secure", b(s3.secure)), ("skipverify", b(s3.skipVerify)),
                     ("chunksize", s(String(s3.chunkSize))), ("storageclass", s(s3.storageClass)), ("objectacl", s(s3.objectACL))]
            storageNode = ("s3", .map(node))
        }
        var http: [(key: String, value: ConfigNode)] = [("addr", s(httpAddr)), ("prefix", s(httpPrefix))]
        if let httpHost { http.append(("host", s(httpHost))) }
        http.append(("secret", s(httpSecret == nil ? "(generated)" : "********")))
        http.append(("relativeurls", b(relativeURLs)))
        if !httpHeaders.isEmpty { http.append(("headers", .map(httpHeaders.map { ($0.0, .list($0.1.map(s))) }))) }
        if let tls { http.append(("tls", .map([("certificate", s(tls.certificate)), ("key", s(tls.key))]))) }
        http.append(("trustedproxies", trustedProxies.map { .list($0.map(s)) } ?? s("(loopback and private networks)")))
        http.append(("limits", .map([("headertimeout", s("\(Int(headerTimeout))s")), ("connectionsperaddress", s(String(connectionsPerAddress)))])))
        let tree = ConfigNode.map([
            ("version", s(version)),
            ("log", .map([("level", s(logLevel)), ("formatter", s(logFormatter)), ("accesslog", .map([("disabled", b(accessLogDisabled))]))])),
            ("storage", .map([
                storageNode,
                ("delete", .map([("enabled", b(deleteEnabled))])),
                ("maintenance", .map([
                    ("uploadpurging", .map([("enabled", b(uploadPurging.enabled)), ("age", s("\(Int(uploadPurging.age))s")),
                                            ("interval", s("\(Int(uploadPurging.interval))s")), ("dryrun", b(uploadPurging.dryRun))])),
                    ("readonly", .map([("enabled", b(readOnly))])),
                    ("retention", .map([("interval", s("\(Int(retentionInterval))s"))])),
                ])),
            ])),
            ("http", .map(http)),
            ("catalog", .map([("maxentries", s(String(catalogMaxEntries)))])),
            ("tags", .map([("maxtags", s(String(tagsMaxTags)))])),
            ("auth", authNode(failedLoginDefaults)),
            ("notifications", .map([
                ("events", .map([("includereferences", b(notificationIncludeReferences))])),
                ("endpoints", .list(notificationEndpoints.map { e in .map([
                    ("name", s(e.name)), ("disabled", b(e.disabled)), ("url", s(e.url)),
                    // Header values often carry credentials.
                    ("headers", .map(e.headers.keys.sorted().map { ($0, .list([s("********")])) })),
                    ("timeout", s("\(e.timeout)s")), ("threshold", s(String(e.threshold))), ("backoff", s("\(e.backoff)s")),
                    ("ignore", .map([("mediatypes", .list(e.ignoredMediaTypes.map(s))), ("actions", .list(e.ignoredActions.map(s)))])),
                ]) })),
            ])),
            ("proxy", .map([
                ("upstreams", .list(proxyUpstreams.map { u in .map([
                    ("prefix", s(u.prefix.isEmpty ? "(the whole registry)" : u.prefix)), ("remoteurl", s(u.remoteURL)),
                    ("fallbackurls", .list(u.fallbackURLs.map(s))),
                    ("username", s(u.username ?? "(anonymous)")), ("password", s(u.password == nil ? "(none)" : "********")),
                    ("tagttl", s("\(Int(u.tagTTL))s")), ("ttl", s("\(Int(u.ttl))s")),
                    ("repositories", .list(u.repositories.map(s))), ("namespaces", .list(u.namespaces.map(s))),
                    ("tls", .map([("insecureskipverify", b(!u.tlsVerify)), ("ca", s(u.caFile ?? "(system)"))])),
                ]) })),
            ])),
            ("validation", .map([("disabled", b(validationDisabled)),
                                 ("manifests", .map([("indexes", .map([("platforms", s(indexPlatforms.rawValue))]))]))])),
        ])
        return tree.yaml()
    }

    /// The access control that will really run: what `serve` decides from `auth`.
    private func authNode(_ defaults: [String: String]) -> ConfigNode {
        func s(_ v: String) -> ConfigNode { .scalar(v) }
        func bound(_ key: String, _ value: String?) -> (key: String, value: ConfigNode) {
            (key, s(value ?? defaults[key] ?? "(default)"))
        }
        let limiter: ConfigNode = .map([
            bound("perclient", failedLogins.perClient.map(String.init)),
            bound("peraddress", failedLogins.perAddress.map(String.init)),
            bound("peraccount", failedLogins.perAccount.map(String.init)),
            bound("window", failedLogins.window.map { "\(Int($0))s" }),
        ])
        if let h = htpasswdAuth {
            return .map([("htpasswd", .map([
                ("realm", s(h.realm)), ("path", s(h.path)),
                ("readers", h.readers.map { .list($0.map(s)) } ?? s("(every account in the file)")),
                ("writers", h.writers.map { .list($0.map(s)) } ?? s("(every account in the file)")),
                ("failedlogins", limiter),
            ]))])
        }
        guard let t = tokenAuth else {
            return .map([("none", s("OPEN: anyone who can reach \(httpAddr) may pull, push and delete"))])
        }
        var token: [(key: String, value: ConfigNode)] = [
            ("realm", s(t.realm ?? "(this server)/auth/token")), ("service", s(t.service)),
            ("issuer", s(t.issuer ?? "(from the token server)")),
            ("rootcertbundle", s(t.rootCertBundle ?? "(Berth's own signing certificate)")),
        ]
        if t.builtInAccounts {
            token.append(("server", s("built in")))
            token.append(("accounts", s(t.accounts.map(Self.maskingPassword) ?? "sqlite:(storage root)/berth/accounts/accounts.sqlite")))
        } else {
            token.append(("server", s(t.serverYAML == nil ? "external" : "built in, from a docker_auth configuration")))
        }
        if let yaml = t.workloadYAML, case .list(let issuers)? = try? ConfigNode.parse(yaml: yaml) {
            // Which CI systems' tokens log in: the issuers and what their tokens must be meant for.
            token.append(("workload_auth", .list(issuers.map { issuer -> ConfigNode in
                guard case .map(let fields) = issuer else { return issuer }
                return .map(fields.filter { ["issuer", "audience", "account_claim", "labels", "max_age"].contains($0.key) })
            })))
        }
        for (key, yaml) in t.signInYAML.sorted(by: { $0.key < $1.key }) {
            // Never the client secret.
            if case .map(let fields)? = try? ConfigNode.parse(yaml: yaml) {
                token.append((key, .map(fields.filter { !["client_secret", "client_secret_file"].contains($0.key) })))
            }
        }
        if t.builtInAccounts || t.serverYAML != nil {
            token.append(("failedlogins", limiter))
            token.append(("audit", .map([("maxentries", s(auditRetention.maxEntries.map(String.init) ?? "1000000")),
                                         ("maxage", s(auditRetention.maxAge.map { "\(Int($0))s" } ?? "8760h"))])))
        }
        return .map([("token", .map(token))])
    }

    /// Distribution's storage middlewares: `redirect` (`baseurl`) and `cloudfront` (`baseurl`,
    /// `privatekey`, `keypairid`, `duration`, `ipfilteredby: none`); the others it knows are refused
    /// by name rather than ignored (a CDN silently bypassed would serve every byte from here).
    static let storageMiddlewareOptions: [String: Set<String>] = [
        "redirect": ["baseurl"],
        "cloudfront": ["baseurl", "privatekey", "keypairid", "duration", "ipfilteredby", "awsregion", "updatefrequency", "updatefrenquency", "iprangesurl"],
    ]

    static func storageMiddleware(_ r: ConfigReader) throws -> [StorageMiddleware] {
        for kind in ["registry", "repository"] where r.has("middleware.\(kind)") {
            throw ConfigError("middleware.\(kind): Berth has no \(kind) middlewares (only middleware.storage: redirect, cloudfront)")
        }
        guard let node = r.node("middleware.storage") else { return [] }
        r.consume("middleware")
        guard case .list(let items) = node else { throw ConfigError("middleware.storage: expected a list of {name, options}") }
        var result: [StorageMiddleware] = []
        for (index, item) in items.enumerated() {
            let key = "middleware.storage[\(index)]"
            guard case .map(let fields) = item else { throw ConfigError("\(key): expected a mapping with name and options") }
            guard case .scalar(let name)? = fields.first(where: { $0.key == "name" })?.value else { throw ConfigError("\(key).name is required") }
            guard let allowed = storageMiddlewareOptions[name] else {
                throw ConfigError("\(key).name: \(name.prefix(40)) is not a storage middleware Berth has (redirect, cloudfront)")
            }
            if let unknown = fields.map(\.key).first(where: { !["name", "disabled", "options"].contains($0) }) {
                throw ConfigError("\(key).\(unknown): not a key of a middleware (name, disabled, options)")
            }
            if case .scalar(let disabled)? = fields.first(where: { $0.key == "disabled" })?.value, ["true", "yes", "on", "1"].contains(disabled.lowercased()) {
                continue
            }
            var options: [String: String] = [:]
            if let optionsNode = fields.first(where: { $0.key == "options" })?.value {
                guard case .map(let pairs) = optionsNode else { throw ConfigError("\(key).options: expected a mapping") }
                for (option, value) in pairs {
                    guard allowed.contains(option) else {
                        throw ConfigError("\(key).options.\(option): not an option of \(name) (\(allowed.sorted().joined(separator: ", ")))")
                    }
                    guard case .scalar(let text) = value else { throw ConfigError("\(key).options.\(option): expected a value") }
                    options[option] = text
                }
            }
            guard options["baseurl"] != nil else { throw ConfigError("\(key).options.baseurl is required") }
            if name == "cloudfront" {
                for required in ["privatekey", "keypairid"] where options[required] == nil {
                    throw ConfigError("\(key).options.\(required) is required")
                }
                if let filter = options["ipfilteredby"], filter.lowercased() != "none" {
                    throw ConfigError("\(key).options.ipfilteredby: \(filter.prefix(40)) is not supported by Berth (only none: every client gets the CloudFront URL)")
                }
                if let duration = options["duration"], GoDuration.seconds(duration) == nil {
                    throw ConfigError("\(key).options.duration: expected a duration such as 20m, got \(duration.prefix(40))")
                }
            }
            result.append(StorageMiddleware(name: name, options: options))
        }
        guard result.count <= 1 else { throw ConfigError("middleware.storage: one redirecting middleware at most (both redirect and cloudfront answer a blob GET)") }
        return result
    }

    /// The sign-in providers' sections of `auth.token` (docker_auth's names).
    public static let signInSections = ["oidc_auth", "github_auth", "gitlab_auth", "google_auth"]

    /// A database URL with its password replaced (`postgres://berth:********@db/berth`).
    static func maskingPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].lastIndex(of: "@"),
              let colon = url[scheme.upperBound..<at].firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "********" + String(url[at...])
    }
}
