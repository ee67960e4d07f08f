/// A limit a credential carries whatever its account may do: a personal access token made
/// with `--scope 'team/*:pull'` grants at most pull on `team/*`, even to an administrator.
/// A credential with limits gets nothing outside them: no other repository, no
/// `registry:admin`, and no catalog (which would name every repository).
public struct CredentialScope: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A repository pattern in the ACL's syntax (glob or /regex/).
    public var repositories: String
    /// pull, push, delete, or `*` for all three.
    public var actions: [String]

    public static let knownActions: Set<String> = ["pull", "push", "delete", "*"]

    public init(repositories: String, actions: [String]) {
        self.repositories = repositories
        self.actions = actions
    }

    /// `PATTERN:ACTIONS`, e.g. `team/*:pull,push`; the pattern is what comes before the last
    /// colon (repository names have none).
    public init(parsing text: String) throws(AuthError) {
        guard let colon = text.lastIndex(of: ":") else {
            throw .badRequest("a scope is REPOSITORY-PATTERN:ACTIONS, e.g. 'team/*:pull,push' (got '\(text.prefix(100))')")
        }
        let pattern = String(text[..<colon])
        let actions = text[text.index(after: colon)...].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !pattern.isEmpty, pattern.utf8.count <= 256 else { throw .badRequest("scope patterns have 1 to 256 characters") }
        do { try Pattern.validate(pattern) } catch { throw .badRequest("invalid repository pattern \(pattern): \(error)") }
        guard !actions.isEmpty, actions.allSatisfy(Self.knownActions.contains) else {
            throw .badRequest("scope actions are pull, push, delete or * (got '\(text[text.index(after: colon)...].prefix(100))')")
        }
        self.init(repositories: pattern, actions: Array(Set(actions)).sorted())
    }

    public var description: String { "\(repositories):\(actions.joined(separator: ","))" }

    /// What of `actions` on `resource` these limits allow.
    public static func allowed(_ actions: [String], type: String, name: String, within scopes: [CredentialScope]) -> [String] {
        switch type {
        case "repository":
            var allowed: Set<String> = []
            for scope in scopes where Pattern.matches(scope.repositories, name) {
                allowed.formUnion(scope.actions.contains("*") ? Set(actions) : Set(actions).intersection(scope.actions))
            }
            // `*` asked for is granted only where every action is allowed.
            return actions.filter { allowed.contains($0) || ($0 == "*" && allowed.isSuperset(of: ["pull", "push", "delete"])) }
        default:
            return []
        }
    }
}
