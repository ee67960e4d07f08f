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
        // Split on the bytes (as docker_auth does), not on Characters: every token request
        // parses its scopes.
        let text = Substring(input)
        let bytes = text.utf8
        let colon = UInt8(ascii: ":")
        let colons = bytes.count <= 1024 ? bytes.reduce(0) { $1 == colon ? $0 + 1 : $0 } : 0
        guard colons == 2 || colons == 3, let typeEnd = bytes.firstIndex(of: colon), let actionsStart = bytes.lastIndex(of: colon) else {
            throw AuthError.badRequest("invalid scope: \(text.prefix(100))")
        }
        var type = text[..<typeEnd]
        if let open = type.utf8.firstIndex(of: UInt8(ascii: "(")), type.utf8.last == UInt8(ascii: ")") { type = type[..<open] }
        let lowerAlnum: (UInt8) -> Bool = { c in (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
        guard !type.isEmpty, type.utf8.allSatisfy(lowerAlnum) else {
            throw AuthError.badRequest("invalid scope type: \(text[..<typeEnd].prefix(40))")
        }
        // The name may hold one `:` (a registry host:port): the span between the type's colon
        // and the actions'.
        let name = String(text[bytes.index(after: typeEnd)..<actionsStart])
        guard !name.isEmpty else { throw AuthError.badRequest("invalid scope: empty resource name") }
        // Only names the registry could store get rights: a token for anything else would
        // grant actions on nothing, or on a name another spelling maps to.
        if type == "repository", !Self.isRepositoryName(name) {
            throw AuthError.badRequest("invalid scope: \(name.prefix(100)) is not a valid repository name")
        }
        self.type = String(type)
        self.name = name
        var actions = text[bytes.index(after: actionsStart)...].utf8.split(separator: UInt8(ascii: ",")).map { String(Substring($0)) }
        if actions.count > 1 {
            actions.sort()
            actions = actions.enumerated().compactMap { $0.offset > 0 && actions[$0.offset - 1] == $0.element ? nil : $0.element }
        }
        self.actions = actions
    }

    /// A repository name as the registry accepts it, optionally after a `host:port/` prefix.
    static func isRepositoryName(_ name: String) -> Bool {
        var path = Substring(name)
        if let slash = path.utf8.firstIndex(of: UInt8(ascii: "/")), path[..<slash].utf8.contains(UInt8(ascii: ":")) { path = path[path.utf8.index(after: slash)...] }
        return (try? RepositoryName(path)) != nil
    }

    /// Every scope in a `scope` parameter (several may be space-separated).
    public static func parseAll(_ values: [String]) throws(AuthError) -> [ResourceScope] {
        var out: [ResourceScope] = []
        for value in values {
            for part in value.utf8.split(separator: UInt8(ascii: " ")) { out.append(try ResourceScope(parsing: Substring(part))) }
        }
        return out
    }

    public var description: String { "\(type):\(name):\(actions.joined(separator: ","))" }
}
