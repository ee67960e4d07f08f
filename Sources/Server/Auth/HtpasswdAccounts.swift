import Auth

/// Distribution's `auth.htpasswd`: the file's users, Berth's `readers`/`writers` lists as
/// the access policy, HTTP Basic at the registry's door and the web UI's sign-in.
struct HtpasswdAccounts: Sendable {
    let passwords: BackendPasswords
    let policy: PolicyChain
    let realm: String

    var backends: [any IdentityBackend] { passwords.backends }

    /// The registry's door: Basic credentials, the lists deciding.
    var door: Door {
        Door(authenticators: [PasswordAuthenticator(passwords: passwords)], gate: AccessGate(policy: policy, service: realm),
             challenge: BasicChallenge(realm: realm))
    }

    /// Berth's `readers`/`writers` lists as ordinary ACL rules: writers may push, delete and
    /// pull, readers pull; either may list the catalog; nil means every valid user.
    static func policy(readers: [String]?, writers: [String]?) throws -> ACL {
        func accounts(_ list: [String]?) -> [String] {
            guard let list, !list.contains("*") else { return ["*"] }
            // Listed names are literal accounts, never patterns.
            return list.map(Pattern.literal)
        }
        var rules: [ACLRule] = []
        for (list, actions) in [(writers, ["pull", "push", "delete"]), (readers, ["pull"])] {
            for account in accounts(list) {
                rules.append(ACLRule(match: .init(account: account, type: "registry", name: "catalog"), actions: ["*"]))
                rules.append(ACLRule(match: .init(account: account, type: "repository"), actions: actions))
            }
        }
        return try ACL(rules, source: "htpasswd")
    }
}
