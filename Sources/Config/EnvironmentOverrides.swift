/// Distribution's `REGISTRY_<PATH>` overrides: one `_` per level of indentation, field names
/// matched case-insensitively, list elements by index, values parsed as YAML, shorter paths
/// applied first, and `version` never overridden.
public enum EnvironmentOverrides {
    /// `REGISTRY_*` variables other programs own: never read as configuration.
    static let foreign = ["REGISTRY_AUTH_FILE": "podman's and skopeo's login file"]

    /// What applying them did: variables ignored (with why), and which variable set each
    /// configuration path (dotted, lower case), so errors can name it.
    public struct Applied: Sendable {
        public var ignored: [String] = []
        public var origins: [String: String] = [:]

        /// `error` with the variable that set the key it names, if one did.
        public func explain(_ error: ConfigError) -> ConfigError {
            for (path, variable) in origins.sorted(by: { $0.key.count > $1.key.count }) where error.message.lowercased().contains(path) {
                return ConfigError(error.message + " (set by the environment variable \(variable))")
            }
            return error
        }
    }

    @discardableResult
    public static func apply(_ environment: [String: String], to tree: inout ConfigNode) -> Applied {
        var applied = Applied()
        for (key, role) in foreign where environment[key] != nil {
            applied.ignored.append("\(key) is \(role), not configuration: ignored")
        }
        let overrides = environment.compactMap { key, value -> ([String], String)? in
            guard key.hasPrefix("REGISTRY_"), foreign[key] == nil else { return nil }
            let path = key.dropFirst("REGISTRY_".count).split(separator: "_", omittingEmptySubsequences: false).map { $0.lowercased() }
            guard !path.isEmpty, !path.contains(""), path != ["version"] else { return nil }
            return (path, value)
        }.sorted { $0.0.count != $1.0.count ? $0.0.count < $1.0.count : $0.0.joined() < $1.0.joined() }
        for (path, value) in overrides {
            let parsed = (try? ConfigNode.parse(yaml: value)) ?? .scalar(value)
            let node: ConfigNode = if case .map(let pairs) = parsed, pairs.isEmpty, !value.isEmpty { .scalar(value) } else { parsed }
            tree.set(path[...], to: node)
            applied.origins[path.joined(separator: ".")] = "REGISTRY_" + path.map { $0.uppercased() }.joined(separator: "_")
        }
        return applied
    }
}
