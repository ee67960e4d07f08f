/// Distribution's `notifications` section: webhook endpoints receiving registry events.
public struct NotificationEndpoint: Sendable, Equatable {
    public var name: String
    public var disabled = false
    public var url: String
    public var headers: [String: [String]] = [:]
    /// Distribution's defaults (`notifications/endpoint.go`): 1 s, 10 failures, 1 s.
    public var timeout: Double = 1
    public var threshold = 10
    public var backoff: Double = 1
    /// `ignoredmediatypes` and `ignore.mediatypes` together.
    public var ignoredMediaTypes: [String] = []
    public var ignoredActions: [String] = []

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }
}

extension RegistryConfiguration {
    static let endpointKeys: Set<String> = ["name", "disabled", "url", "headers", "timeout", "threshold", "backoff",
                                            "ignoredmediatypes", "ignore", "ignore.mediatypes", "ignore.actions"]

    /// Reads `notifications.events` and `notifications.endpoints`; returns the keys inside
    /// endpoints that Berth does not know.
    mutating func readNotifications(_ r: ConfigReader) throws -> [String] {
        notificationIncludeReferences = try r.bool("notifications.events.includereferences") ?? false
        r.consume("notifications.endpoints")
        guard let node = r.node("notifications.endpoints") else { return [] }
        guard case .list(let items) = node else { throw ConfigError("notifications.endpoints: expected a list of endpoints") }
        var warnings: [String] = []
        var names = Set<String>()
        for (index, item) in items.enumerated() {
            let at = "notifications.endpoints[\(index)]"
            let e = ConfigReader(item)
            guard let name = try e.string("name"), !name.isEmpty else { throw ConfigError("\(at).name: every endpoint needs a name") }
            guard names.insert(name).inserted else { throw ConfigError("\(at).name: duplicate endpoint name \(name)") }
            let disabled = try e.bool("disabled") ?? false
            guard let url = try e.string("url"), url.hasPrefix("http://") || url.hasPrefix("https://") else {
                if disabled { continue }
                throw ConfigError("\(at).url: an http(s) URL is required")
            }
            var endpoint = NotificationEndpoint(name: name, url: url)
            endpoint.disabled = disabled
            e.consume("headers")
            if let headers = e.node("headers") {
                guard case .map(let pairs) = headers else { throw ConfigError("\(at).headers: expected a mapping of header names to lists") }
                for pair in pairs {
                    switch pair.value {
                    case .scalar(let s): endpoint.headers[pair.key] = [s]
                    case .list(let values):
                        endpoint.headers[pair.key] = try values.map {
                            guard case .scalar(let s) = $0 else { throw ConfigError("\(at).headers.\(pair.key): expected strings") }
                            return s
                        }
                    default: throw ConfigError("\(at).headers.\(pair.key): expected a list of strings")
                    }
                }
            }
            if let timeout = try e.duration("timeout") { endpoint.timeout = timeout > 0 ? timeout : 1 }
            if let threshold = try e.int("threshold") { endpoint.threshold = threshold > 0 ? threshold : 10 }
            if let backoff = try e.duration("backoff") { endpoint.backoff = backoff > 0 ? backoff : 1 }
            endpoint.ignoredMediaTypes = (try e.stringList("ignoredmediatypes") ?? []) + (try e.stringList("ignore.mediatypes") ?? [])
            endpoint.ignoredActions = try e.stringList("ignore.actions") ?? []
            for action in endpoint.ignoredActions where !["pull", "push", "mount", "delete"].contains(action) {
                throw ConfigError("\(at).ignore.actions: unknown action \(action) (pull, push, mount, delete)")
            }
            warnings += e.unknownKeysWithSuggestions().map { "\(at).\($0)" }
            notificationEndpoints.append(endpoint)
        }
        return warnings
    }
}
