import OCI

/// One resource a client asks access to, as in `repository:team/app:pull,push`.
public struct ResourceScope: Sendable, Hashable, Codable, CustomStringConvertible {
    public var type: String
    public var name: String
    public var actions: [String]

    public init(type: String, name: String, actions: [String]) {
        self.type = type
        self.name = name
        self.actions = actions
    }

    /// Parses one scope: `type[(class)]:name:actions`, where the name may itself hold one
    /// `:` (a registry host:port). Actions are de-duplicated and sorted, as docker_auth does.
    public init(parsing input: some StringProtocol) throws(AuthError) {
        let text = Substring(input)
        let parts = text.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
        guard text.utf8.count <= 1024, parts.count == 3 || parts.count == 4 else {
            throw AuthError.badRequest("invalid scope: \(text.prefix(100))")
        }
        var type = parts[0]
        if let open = type.firstIndex(of: "("), type.hasSuffix(")") { type = type[..<open] }
        let lowerAlnum: (UInt8) -> Bool = { c in (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
        guard !type.isEmpty, type.utf8.allSatisfy(lowerAlnum) else {
            throw AuthError.badRequest("invalid scope type: \(parts[0].prefix(40))")
        }
        // The name may hold one `:` (a registry host:port): the span between the type's colon
        // and the actions'.
        let name = String(text[parts[1].startIndex..<parts[parts.count - 2].endIndex])
        guard !name.isEmpty else { throw AuthError.badRequest("invalid scope: empty resource name") }
        // Only names the registry could store get rights: a token for anything else would
        // grant actions on nothing, or on a name another spelling maps to.
        if type == "repository", !Self.isRepositoryName(name) {
            throw AuthError.badRequest("invalid scope: \(name.prefix(100)) is not a valid repository name")
        }
        self.type = String(type)
        self.name = name
        var actions = parts[parts.count - 1].split(separator: ",").map { String($0) }
        if actions.count > 1 {
            actions.sort()
            actions = actions.enumerated().compactMap { $0.offset > 0 && actions[$0.offset - 1] == $0.element ? nil : $0.element }
        }
        self.actions = actions
    }

    /// A repository name as the registry accepts it, optionally after a `host:port/` prefix.
    static func isRepositoryName(_ name: String) -> Bool {
        var path = Substring(name)
        if let slash = path.firstIndex(of: "/"), path[..<slash].utf8.contains(UInt8(ascii: ":")) { path = path[path.index(after: slash)...] }
        return (try? RepositoryName(path)) != nil
    }

    /// Every scope in a `scope` parameter (several may be space-separated).
    public static func parseAll(_ values: [String]) throws(AuthError) -> [ResourceScope] {
        var out: [ResourceScope] = []
        for value in values {
            for part in value.split(separator: " ") { out.append(try ResourceScope(parsing: part)) }
        }
        return out
    }

    public var description: String { "\(type):\(name):\(actions.joined(separator: ","))" }
}
