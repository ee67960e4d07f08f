import Auth
import Client
import OCI

/// One registry mirrored under a prefix of Berth's namespace: `docker.io/library/alpine`
/// here is `library/alpine` there. An empty prefix mirrors every repository (Distribution's
/// `proxy` section: the whole registry is the mirror).
public struct Upstream: Sendable {
    public var prefix: String
    /// The upstream's client, then those of its failover URLs, tried in order when one
    /// cannot be reached or fails (never after a definite answer such as 404).
    public var clients: [RegistryClient]
    public var client: RegistryClient { clients[0] }
    /// How long a tag's digest, once checked against the upstream, is served without asking again.
    public var tagTTL: Double
    /// Upstream repository names that may be mirrored (docker_auth globs or `/regex/`); empty: all.
    public var repositories: [String]
    /// Cached manifests nobody pulled for this long are evicted (seconds; 0: kept for good).
    public var retention: Double

    public init(prefix: String, client: RegistryClient, failover: [RegistryClient] = [], tagTTL: Double,
                repositories: [String] = [], retention: Double = 0) {
        self.prefix = prefix
        self.clients = [client] + failover
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

    /// Runs `operation` against each URL in turn until one answers; an upstream that answers
    /// (even "not found") ends the search, one that cannot be reached passes it on.
    func attempt<T: Sendable>(_ operation: (RegistryClient) async throws -> T) async throws -> T {
        var lastError: (any Error)?
        for client in clients {
            do {
                return try await operation(client)
            } catch {
                guard UpstreamFailure(error, upstream: self).isUnavailable else { throw error }
                lastError = error
            }
        }
        throw lastError ?? UpstreamFailure.unavailable("no upstream URL configured")
    }
}
