/// Reads typed values out of a `ConfigNode`, remembering which keys were read so that the
/// rest can be reported as unknown.
final class ConfigReader {
    let root: ConfigNode
    private(set) var consumed: Set<String> = []

    init(_ root: ConfigNode) { self.root = root }

    func node(_ path: String) -> ConfigNode? {
        var current: ConfigNode? = root
        for key in path.split(separator: ".") { current = current?[String(key)] }
        if case .null = current { return nil }
        return current
    }

    /// Marks a key (and everything below it) as understood.
    func consume(_ path: String) { consumed.insert(path.lowercased()) }

    func has(_ path: String) -> Bool {
        var current: ConfigNode? = root
        for key in path.split(separator: ".") { current = current?[String(key)] }
        return current != nil
    }

    func string(_ path: String) throws -> String? {
        consume(path)
        guard let node = node(path) else { return nil }
        guard case .scalar(let s) = node else { throw ConfigError("\(path): expected a string") }
        return s
    }

    func bool(_ path: String) throws -> Bool? {
        guard let s = try string(path) else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigError("\(path): expected true or false, got \(s.prefix(40))")
        }
    }

    func int(_ path: String) throws -> Int? {
        guard let s = try string(path) else { return nil }
        guard let v = Int(s) else { throw ConfigError("\(path): expected an integer, got \(s.prefix(40))") }
        return v
    }

    func duration(_ path: String) throws -> Double? {
        guard let s = try string(path) else { return nil }
        guard let v = GoDuration.seconds(s) else { throw ConfigError("\(path): expected a duration such as 24h, got \(s.prefix(40))") }
        return v
    }

    func stringList(_ path: String) throws -> [String]? {
        consume(path)
        guard let node = node(path) else { return nil }
        switch node {
        case .scalar(let s): return [s]
        case .list(let items):
            return try items.map {
                guard case .scalar(let s) = $0 else { throw ConfigError("\(path): expected a list of strings") }
                return s
            }
        default: throw ConfigError("\(path): expected a list of strings")
        }
    }

    /// Keys present in the document that nothing read.
    func unknownKeys() -> [String] {
        root.leafPaths().map { $0.joined(separator: ".") }.filter { leaf in
            !consumed.contains { leaf == $0 || leaf.hasPrefix($0 + ".") }
        }
    }
}
