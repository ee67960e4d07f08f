import Auth
import Client
import OCI

/// One registry mirrored under a prefix of Berth's namespace: `docker.io/library/alpine`
/// here is `library/alpine` there. An empty prefix mirrors every repository (Distribution's
/// `proxy` section: the whole registry is the mirror).
public struct Upstream: Sendable {
    public var prefix: String
    public var client: RegistryClient
    /// How long a tag's digest, once checked against the upstream, is served without asking again.
    public var tagTTL: Double
    /// Upstream repository names that may be mirrored (docker_auth globs or `/regex/`); empty: all.
    public var repositories: [String]
    /// Cached manifests nobody pulled for this long are evicted (seconds; 0: kept for good).
    public var retention: Double

    public init(prefix: String, client: RegistryClient, tagTTL: Double, repositories: [String] = [], retention: Double = 0) {
        self.prefix = prefix
        self.client = client
        self.tagTTL = tagTTL
        self.repositories = repositories
        self.retention = retention
    }

    /// The part of `name` this upstream answers for, or nil when `name` is outside the prefix.
    func upstreamName(of name: RepositoryName) -> String? {
        if prefix.isEmpty { return name.value }
        guard name.value.hasPrefix(prefix + "/") else { return nil }
        return String(name.value.dropFirst(prefix.count + 1))
    }

    func allows(_ upstreamName: String) -> Bool {
        repositories.isEmpty || repositories.contains { Pattern.matches($0, upstreamName) }
    }

    var displayName: String { client.baseURL }
}
