/// Distribution's `REGISTRY_<PATH>` overrides: one `_` per level of indentation, field names
/// matched case-insensitively, list elements by index, values parsed as YAML, shorter paths
/// applied first, and `version` never overridden.
public enum EnvironmentOverrides {
    public static func apply(_ environment: [String: String], to tree: inout ConfigNode) {
        let overrides = environment.compactMap { key, value -> ([String], String)? in
            guard key.hasPrefix("REGISTRY_") else { return nil }
            let path = key.dropFirst("REGISTRY_".count).split(separator: "_", omittingEmptySubsequences: false).map { $0.lowercased() }
            guard !path.isEmpty, !path.contains(""), path != ["version"] else { return nil }
            return (path, value)
        }.sorted { $0.0.count != $1.0.count ? $0.0.count < $1.0.count : $0.0.joined() < $1.0.joined() }
        for (path, value) in overrides {
            let parsed = (try? ConfigNode.parse(yaml: value)) ?? .scalar(value)
            let node: ConfigNode = if case .map(let pairs) = parsed, pairs.isEmpty, !value.isEmpty { .scalar(value) } else { parsed }
            tree.set(path[...], to: node)
        }
    }
}
