import Foundation

/// A registry mirrored by the pull-through cache.
public struct ProxyUpstream: Sendable, Equatable {
    /// Where its repositories appear here (`docker.io` → `docker.io/library/alpine`); empty:
    /// every repository (Distribution's `proxy`, the whole registry is a mirror).
    public var prefix: String
    public var remoteURL: String
    /// Other URLs of the same registry (mirrors of it), tried in order when `remoteURL`
    /// cannot be reached or fails.
    public var fallbackURLs: [String] = []
    /// A fallback's own credentials, by its URL: the upstream's never go to another host.
    public var fallbackLogins: [String: Login] = [:]
    /// Token servers besides the upstream's own host and domain that may receive its credentials.
    public var tokenHosts: [String] = []
    public var username: String?
    public var password: String?
    /// How long a tag is served before it is checked against the upstream again (seconds).
    public var tagTTL: Double = 60
    /// Distribution's `ttl`: cached content nobody pulled for this long is evicted (seconds, 0: kept).
    public var ttl: Double = 168 * 3600
    /// Upstream repository names that may be mirrored (globs or `/regex/`); empty: all.
    public var repositories: [String] = []
    /// containerd's `?ns=` values answered by this upstream (`docker.io` for `ns=docker.io`).
    public var namespaces: [String] = []
    public var tlsVerify = true
    public var caFile: String?
    /// Distribution's `exec`: a docker credential helper asked for the upstream's credentials
    /// (overrides username and password), again after `execLifetime` (nil: once; 0: every time).
    public var execCommand: String?
    public var execLifetime: Double?

    public init(prefix: String, remoteURL: String) {
        self.prefix = prefix
        self.remoteURL = remoteURL
    }

    public struct Login: Sendable, Equatable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }
}

extension RegistryConfiguration {
    /// Reads Distribution's `proxy` (remoteurl, username, password, ttl) and Berth's
    /// `proxy.upstreams`, a list of such entries each under its own prefix.
    mutating func readProxy(_ r: ConfigReader) throws -> [String] {
        guard r.has("proxy") else { return [] }
        var warnings: [String] = []
        if let remote = try r.string("proxy.remoteurl") {
            var upstream = ProxyUpstream(prefix: "", remoteURL: try Self.checkedRemoteURL(remote, at: "proxy.remoteurl"))
            try Self.readUpstreamSettings(r, into: &upstream, at: "proxy", prefixed: "proxy.")
            // A whole-registry mirror revalidates tags on every pull, as Distribution does.
            if !r.has("proxy.tagttl") { upstream.tagTTL = 0 }
            proxyUpstreams.append(upstream)
        }
        r.consume("proxy.upstreams")
        if let node = r.node("proxy.upstreams") {
            guard case .list(let items) = node else { throw ConfigError("proxy.upstreams: expected a list of upstream registries") }
            for (index, item) in items.enumerated() {
                let at = "proxy.upstreams[\(index)]"
                let e = ConfigReader(item)
                guard let prefix = try e.string("prefix")?.trimmingCharacters(in: CharacterSet(charactersIn: "/")), !prefix.isEmpty else {
                    throw ConfigError("\(at).prefix: every upstream needs the prefix its repositories appear under (e.g. docker.io)")
                }
                guard prefix.split(separator: "/").allSatisfy({ Self.isNameComponent($0) }) else {
                    throw ConfigError("\(at).prefix: \(prefix) is not a valid repository name prefix")
                }
                guard let remote = try e.string("remoteurl") else { throw ConfigError("\(at).remoteurl is required") }
                var upstream = ProxyUpstream(prefix: prefix, remoteURL: try Self.checkedRemoteURL(remote, at: "\(at).remoteurl"))
                try Self.readUpstreamSettings(e, into: &upstream, at: at, prefixed: "")
                try Self.readFallbacks(e, into: &upstream, at: at)
                upstream.tokenHosts = try e.stringList("tokenhosts") ?? []
                upstream.namespaces = try e.stringList("namespaces") ?? [prefix.split(separator: "/").first.map(String.init) ?? prefix]
                warnings += e.unknownKeysWithSuggestions().map { "\(at).\($0)" }
                proxyUpstreams.append(upstream)
            }
        }
        let prefixes = proxyUpstreams.map(\.prefix)
        if Set(prefixes).count != prefixes.count {
            throw ConfigError("proxy: two upstreams share a prefix")
        }
        if prefixes.contains(""), prefixes.count > 1 {
            throw ConfigError("proxy: remoteurl makes the whole registry a mirror; use proxy.upstreams alone to mirror several registries")
        }
        if let directory = try r.string("proxy.spooldirectory") { proxySpoolDirectory = directory }
        if let interval = try r.duration("proxy.retention.interval") {
            guard interval > 0 else { throw ConfigError("proxy.retention.interval: must be positive") }
            proxyRetentionInterval = interval
        }
        return warnings
    }

    private static func readUpstreamSettings(_ r: ConfigReader, into upstream: inout ProxyUpstream, at: String, prefixed p: String) throws {
        upstream.username = try r.string(p + "username")
        upstream.password = try r.string(p + "password")
        if (upstream.username == nil) != (upstream.password == nil) {
            throw ConfigError("\(at): username and password go together")
        }
        if r.has(p + "exec") {
            guard let command = try r.string(p + "exec.command"), !command.isEmpty else {
                throw ConfigError("\(at).exec.command: the credential helper to run is required")
            }
            guard command.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) else {
                throw ConfigError("\(at).exec.command: a program name or path, without arguments or shell syntax")
            }
            upstream.execCommand = command
            if let lifetime = try r.duration(p + "exec.lifetime") {
                guard lifetime >= 0 else { throw ConfigError("\(at).exec.lifetime: must not be negative") }
                upstream.execLifetime = lifetime
            }
        }
        if let ttl = try r.duration(p + "ttl") {
            guard ttl >= 0 else { throw ConfigError("\(at).ttl: must not be negative") }
            upstream.ttl = ttl
        }
        if let ttl = try r.duration(p + "tagttl") {
            guard ttl >= 0 else { throw ConfigError("\(at).tagttl: must not be negative") }
            upstream.tagTTL = ttl
        }
        _ = try r.duration(p + "cachewritetimeout")
        upstream.repositories = try r.stringList(p + "repositories") ?? []
        for pattern in upstream.repositories where pattern.hasPrefix("/") && pattern.hasSuffix("/") && pattern.count >= 2 {
            guard (try? NSRegularExpression(pattern: String(pattern.dropFirst().dropLast()))) != nil else {
                throw ConfigError("\(at).repositories: invalid regular expression \(pattern)")
            }
        }
        if let skip = try r.bool(p + "tls.insecureskipverify") { upstream.tlsVerify = !skip }
        upstream.caFile = try r.string(p + "tls.ca")
    }

    /// `fallbackurls`: each an URL, or `{url, username, password}` for a fallback that needs
    /// credentials of its own.
    private static func readFallbacks(_ e: ConfigReader, into upstream: inout ProxyUpstream, at: String) throws {
        e.consume("fallbackurls")
        guard let node = e.node("fallbackurls") else { return }
        let items: [ConfigNode]
        switch node {
        case .list(let list): items = list
        case .scalar: items = [node]
        default: throw ConfigError("\(at).fallbackurls: expected a list of URLs")
        }
        for (index, item) in items.enumerated() {
            let place = "\(at).fallbackurls[\(index)]"
            if case .scalar(let text) = item {
                upstream.fallbackURLs.append(try checkedRemoteURL(text, at: place))
                continue
            }
            let f = ConfigReader(item)
            guard let text = try f.string("url") else { throw ConfigError("\(place).url is required") }
            let url = try checkedRemoteURL(text, at: place + ".url")
            upstream.fallbackURLs.append(url)
            let username = try f.string("username"), password = try f.string("password")
            if (username == nil) != (password == nil) { throw ConfigError("\(place): username and password go together") }
            if let username, let password { upstream.fallbackLogins[url] = .init(username: username, password: password) }
            if let unknown = f.unknownKeys().first { throw ConfigError("\(place).\(unknown): unknown key (url, username, password)") }
        }
    }

    private static func checkedRemoteURL(_ text: String, at: String) throws -> String {
        guard let url = URL(string: text), let scheme = url.scheme, scheme == "http" || scheme == "https", url.host != nil,
              url.path.isEmpty || url.path == "/", url.query == nil else {
            throw ConfigError("\(at): expected the upstream's root as http(s)://host[:port], got \(text)")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    private static func isNameComponent(_ part: Substring) -> Bool {
        guard let first = part.first, let last = part.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber else { return false }
        return part.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || "._-".contains($0) }
    }
}
