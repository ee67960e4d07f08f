import OCI
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
        case .scalar(let s):
            // Distribution refuses this too; accepting it would hide a value meant as a list.
            throw ConfigError("\(path): expected a list, got the single value \(s.prefix(40)); write it as [\(s.prefix(40))] or as lines starting with -")
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

    /// Unknown keys, each with the nearest key this reader knows when one is close enough to
    /// be a typo ("storage.filesystem.rootdir (did you mean storage.filesystem.rootdirectory?)").
    func unknownKeysWithSuggestions() -> [String] {
        let known = Set(consumed.flatMap { path -> [String] in
            let parts = path.split(separator: ".")
            return (1...parts.count).map { parts.prefix($0).joined(separator: ".") }
        })
        return unknownKeys().map { leaf in
            guard let suggestion = KeySuggestion.nearest(to: leaf, among: known) else { return leaf }
            return "\(leaf) (did you mean \(suggestion)?)"
        }
    }
}

/// The known key a mistyped one most likely meant.
enum KeySuggestion {
    /// The candidate nearest to `key` (or to one of its leading parts: `htp.addr` is near
    /// `http`), if it is at most a few edits away; nil otherwise.
    static func nearest(to key: String, among candidates: Set<String>) -> String? {
        let parts = key.split(separator: ".")
        var best: (distance: Int, candidate: String, depth: Int)?
        for depth in stride(from: parts.count, through: 1, by: -1) {
            let prefix = parts.prefix(depth).joined(separator: ".")
            let last = parts[depth - 1]
            for candidate in candidates where candidate != prefix && candidate.split(separator: ".").count == depth {
                let candidateLast = candidate.split(separator: ".").last ?? ""
                let sameParent = candidate.split(separator: ".").dropLast() == parts.prefix(depth - 1)
                // An abbreviation (rootdir for rootdirectory) is as likely a slip as a typo.
                let abbreviation = sameParent && last.count >= 4 && candidateLast.hasPrefix(last)
                let distance = abbreviation ? 1 : editDistance(prefix, candidate)
                guard distance > 0, distance <= max(1, min(3, last.count / 3)) else { continue }
                if best == nil || distance < best!.distance || (distance == best!.distance && depth > best!.depth) {
                    best = (distance, candidate, depth)
                }
            }
            if best != nil { break }
        }
        guard let best else { return nil }
        return ([best.candidate] + parts.dropFirst(best.depth).map(String.init)).joined(separator: ".")
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
