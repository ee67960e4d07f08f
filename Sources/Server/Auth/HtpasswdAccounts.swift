import Auth

/// Distribution's `auth.htpasswd`: the file's users, Berth's `readers`/`writers` lists as
/// the access policy, HTTP Basic at the registry's door and the web UI's sign-in.
package struct HtpasswdAccounts: Sendable {
    let passwords: BackendPasswords
    let policy: PolicyChain
    let realm: String

    init(passwords: BackendPasswords, policy: PolicyChain, realm: String) {
        self.passwords = passwords
        self.policy = policy
        self.realm = realm
    }

    /// The file's users, the `readers`/`writers` lists (nil: every valid user), the limits on
    /// failed logins.
    package init(users: [String: AuthConfiguration.User], readers: [String]?, writers: [String]?, realm: String,
                 limits: FailedLoginLimiter.Limits) throws {
        self.init(passwords: BackendPasswords(backends: [StaticUsers(users)], limiter: FailedLoginLimiter(limits: limits)),
                  policy: PolicyChain([try Self.policy(readers: readers, writers: writers)]), realm: realm)
    }

    var backends: [any IdentityBackend] { passwords.backends }

    /// The registry's door: Basic credentials, the lists deciding.
    package var door: Door {
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
