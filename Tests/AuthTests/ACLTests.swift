@testable import Auth
import Testing

@Suite struct PatternTests {
    @Test(arguments: [
        ("*", "ubuntu", true), ("*", "team/app", false), ("team/*", "team/app", true), ("team/*", "team/a/b", false),
        ("test-*", "test-app", true), ("?x", "ax", true), ("?x", "/x", false), ("[a-c]*", "box", true), ("[^a-c]*", "box", false),
        ("/.+/", "anyone", true), ("/.+/", "", false), ("/^team\\/.+$/", "team/a/b", true), ("/app/", "my-app-x", true),
        ("ubuntu", "ubuntu", true), ("ubuntu", "ubuntu2", false), ("ubuntu2", "ubuntu", false), ("", "", true), ("", "a", false),
        // A literal compares bytes, as Go does: canonically equivalent spellings differ.
        ("caf\u{E9}", "caf\u{E9}", true), ("caf\u{E9}", "cafe\u{301}", false), ("/", "/", true), ("\\*", "*", true), ("\\*", "a", false),
        // docker_auth's `len(p) > 2`: `//` is a literal, not an empty regex matching everything;
        // a regex's body is the bytes between its slashes.
        ("//", "//", true), ("//", "anything", false), ("/x\u{600}/", "x\u{600}", true), ("/x\u{600}/", "x", false),
    ])
    func matchesLikeDockerAuth(_ pattern: String, _ value: String, _ expected: Bool) {
        #expect(Pattern.matches(pattern, value) == expected)
    }

    @Test func rejectsBadPatterns() {
        #expect(throws: AuthError.self) { try Pattern.validate("/([/") }
        #expect(throws: AuthError.self) { try Pattern.validate("[abc") }
    }

    @Test func scopesParse() throws {
        let s = try ResourceScope(parsing: "repository:team/app:push,pull,pull")
        #expect(s == ResourceScope(type: "repository", name: "team/app", actions: ["pull", "push"]))
        let port = try ResourceScope(parsing: "repository:localhost:5000/app:pull")
        #expect(port.name == "localhost:5000/app")
        #expect(try ResourceScope(parsing: "repository(plugin):x:pull").type == "repository")
        #expect(try ResourceScope(parsing: "registry:catalog:*").actions == ["*"])
        #expect(try ResourceScope.parseAll(["repository:a:pull repository:b:push"]).count == 2)
        #expect(try ResourceScope.parseAll(["repository:a:pull  registry:catalog:*", "repository:c:"]).map(\.description)
            == ["repository:a:pull", "registry:catalog:*", "repository:c:"])
        #expect(try ResourceScope(parsing: "repository:localhost:5000/team/app:push,,pull").actions == ["pull", "push"])
        #expect(try ResourceScope(parsing: "repository:a:").actions == [])
        for bad in ["repository", "repository:a", "a:b:c:d:e", "Repo:x:pull", "repository::pull", "repository:localhost:5000:app:pull",
                    ":a:pull", "()(x):a:pull", "repository:a:b/:pull", "repository:" + String(repeating: "a", count: 1100) + ":pull"] {
            #expect(throws: AuthError.self) { try ResourceScope(parsing: bad) }
        }
    }

    @Test func ipAddressesAndCIDRs() throws {
        #expect(CIDR("127.0.0.0/8")!.contains(IPAddress("127.1.2.3")!))
        #expect(!CIDR("127.0.0.0/8")!.contains(IPAddress("128.0.0.1")!))
        #expect(CIDR("::1")!.contains(IPAddress("::1")!))
        #expect(CIDR("10.0.0.0/8")!.contains(IPAddress("::ffff:10.1.1.1")!))
        #expect(CIDR("fd00::/8")!.contains(IPAddress("fd12:3456::1")!))
        #expect(CIDR("300.0.0.1") == nil)
        #expect(CIDR("10.0.0.0/33") == nil)
    }
}

/// The ACL of the seed posts (000: docker_auth's reference example) plus per-user prefixes,
/// labels, regex captures and address rules, evaluated for every account × repository × action.
@Suite struct ACLMatrixTests {
    static let acl = try! ACL([
        ACLRule(match: .init(ip: "172.17.0.1"), actions: ["*"], comment: "the docker bridge may do anything"),
        ACLRule(match: .init(account: "admin"), actions: ["*"]),
        ACLRule(match: .init(account: "hussien", name: "ubuntu"), actions: ["*"]),
        ACLRule(match: .init(account: "test"), actions: []),
        ACLRule(match: .init(account: "/.+/", name: "${account}/*"), actions: ["*"], comment: "own namespace"),
        ACLRule(match: .init(account: "/^(.+)@corp\\.com$/", name: "${account:1}-*"), actions: ["pull", "push"]),
        ACLRule(match: .init(account: "/.+/", name: "${labels:project}/*", labels: ["group": "dev*"]), actions: ["pull", "push"]),
        ACLRule(match: .init(account: "reader"), actions: ["pull"]),
        ACLRule(match: .init(account: "/.+/", type: "registry", name: "catalog"), actions: ["*"]),
        ACLRule(match: .init(account: "/.+/", name: "secret/*"), actions: []),
        ACLRule(match: .init(account: "/.+/"), actions: ["pull"]),
        ACLRule(match: .init(account: "", name: "hello-world"), actions: ["pull"]),
    ])

    func grant(_ account: String, _ name: String, _ actions: [String], labels: [String: [String]] = [:], ip: String = "10.0.0.5",
               type: String = "repository") -> [String]? {
        Self.acl.authorize(AccessRequest(account: account, labels: labels, type: type, name: name, service: "Docker registry",
                                         ip: IPAddress(ip), actions: actions))
    }

    @Test(arguments: [
        // account, repository, requested, granted (nil = no rule matched: denied)
        ("admin", "anything/at/all", ["pull", "push", "delete"], ["delete", "pull", "push"]),
        ("hussien", "ubuntu", ["pull", "push"], ["pull", "push"]),
        ("hussien", "fedora", ["pull", "push"], ["pull"]),
        ("test", "ubuntu", ["pull"], []),
        ("test", "test/own", ["pull", "push"], []),
        ("alice", "alice/app", ["pull", "push", "delete"], ["delete", "pull", "push"]),
        ("alice", "alice/deep/app", ["pull", "push"], ["pull"]),
        ("alice", "bob/app", ["pull", "push"], ["pull"]),
        ("bob@corp.com", "bob-tools", ["pull", "push", "delete"], ["pull", "push"]),
        ("bob@corp.com", "alice-tools", ["push"], []),
        ("reader", "any", ["pull", "push"], ["pull"]),
        ("alice", "secret/keys", ["pull"], []),
        ("", "hello-world", ["pull", "push"], ["pull"]),
        ("", "ubuntu", ["pull"], nil),
        ("", "alice/app", ["pull"], nil),
    ] as [(String, String, [String], [String]?)])
    func matrix(_ account: String, _ name: String, _ requested: [String], _ expected: [String]?) {
        #expect(grant(account, name, requested) == expected, "\(account) \(name) \(requested)")
    }

    @Test func labelsSubstituteEveryValue() {
        let dev = ["group": ["developers"], "project": ["alpha", "beta"]]
        #expect(grant("carol", "beta/svc", ["pull", "push"], labels: dev) == ["pull", "push"])
        #expect(grant("carol", "alpha/svc", ["push"], labels: dev) == ["push"])
        #expect(grant("carol", "gamma/svc", ["push"], labels: dev) == [])
        #expect(grant("carol", "beta/svc", ["push"], labels: ["group": ["ops"], "project": ["beta"]]) == [])
    }

    /// Seed 002's setup: label values are patterns (substituted raw, as docker_auth does),
    /// while the request's own fields are escaped.
    @Test func labelValuesArePatternsButAccountsAreLiteral() throws {
        let acl = try ACL([
            ACLRule(match: .init(name: "${labels:full-access}"), actions: ["*"]),
            ACLRule(match: .init(name: "${account}/*"), actions: ["pull"]),
        ])
        func grant(_ account: String, _ name: String, _ labels: [String: [String]]) -> [String]? {
            acl.authorize(AccessRequest(account: account, labels: labels, type: "repository", name: name, service: "s", actions: ["pull", "push"]))
        }
        #expect(grant("waldi", "sockeshop", ["full-access": ["socke*"]]) == ["pull", "push"])
        #expect(grant("waldi", "other", ["full-access": ["socke*"]]) == nil)
        // An account named with glob characters matches only its own literal name.
        #expect(grant("a*", "a*/x", [:]) == ["pull"])
        #expect(grant("a*", "abc/x", [:]) == nil)
    }

    @Test func addressesAndTypes() {
        #expect(grant("", "whatever", ["push"], ip: "172.17.0.1") == ["push"])
        #expect(grant("alice", "catalog", ["*"], type: "registry") == ["*"])
        #expect(grant("", "catalog", ["*"], type: "registry") == nil)
    }

    @Test func substitutedValuesCannotWidenAPattern() {
        // An account named like a glob must not match other namespaces through ${account}.
        #expect(grant("*", "bob/app", ["push"]) == [])
    }

    /// A regex with nested repetition backtracks exponentially on a crafted name (found by
    /// the `pattern` fuzzer): the match gives up at its step limit, and the rule then denies
    /// rather than letting a later rule grant. Also when the regex comes from a label value.
    @Test func aRegexThatBacktracksForeverDeniesQuickly() throws {
        let acl = try ACL([
            ACLRule(match: .init(name: "/^(a*aa)+$/"), actions: [], comment: "no repositories of only a's"),
            ACLRule(match: .init(name: "${labels:repos}"), actions: []),
            ACLRule(match: .init(account: "*"), actions: ["pull"]),
        ])
        func grant(_ name: String, _ labels: [String: [String]] = [:]) -> [String]? {
            acl.authorize(AccessRequest(account: "alice", labels: labels, type: "repository", name: name, service: "s", actions: ["pull"]))
        }
        let crafted = String(repeating: "a", count: 120) + "b"
        // Unbounded, this one input took longer than the fuzzer's 10 s limit; the test
        // finishing is the bound.
        #expect(grant(crafted) == [])
        #expect(acl.decision(AccessRequest(account: "alice", labels: [:], type: "repository", name: crafted, service: "s", actions: ["pull"]))?.rule == 1)
        #expect(grant("team/app") == ["pull"])
        #expect(grant("aaaa") == [])
        #expect(grant("team/app", ["repos": ["/(t*tt)+x/"]]) == ["pull"])
        #expect(grant(String(repeating: "t", count: 120), ["repos": ["/(t*tt)+x/"]]) == [])
        #expect(Pattern.regexMatch("(a*aa)+$", crafted) == .exhausted)
        #expect(Pattern.matches("/(a*aa)+$/", crafted) == false)
        // Captures, empty values and groups that take no part still come out as before.
        #expect(Pattern.regexMatch("^([a-z]+)/(x)?(.*)$", "team/app") == .match(["team/app", "team", "", "app"]))
        #expect(Pattern.regexMatch("^$", "") == .match([""]))
        #expect(Pattern.regexMatch("é(.)", "café!") == .match(["é!", "!"]))
    }

    @Test func invalidRulesAreRejectedAtLoad() {
        #expect(throws: AuthError.self) { try ACL([ACLRule(match: .init(name: "/([/"), actions: ["*"])]) }
        #expect(throws: AuthError.self) { try ACL([ACLRule(match: .init(ip: "not-an-ip"), actions: ["*"])]) }
    }
}

@Suite struct AuthConfigurationTests {
    @Test func readsDockerAuthFilesAndReportsWhatItCannotDo() throws {
        let yaml = """
        server:
          addr: ":5001"
          certificate: "/ssl/server.pem"
          key: "/ssl/server.key"
          letsencrypt: {email: a@b.c}
        token:
          issuer: "Auth Service"
          expiration: 900
        users:
          "admin":
            password: "$2y$05$LO.vzwpWC5LZGqThvEfznu8qhb5SGqvBSWY1J3yZ4AxtMRZ3kN5jC"
            labels: {group: [admins]}
          "": {}
        mongo_auth:
          dial_info: {addrs: ["localhost"]}
        acl:
          - match: {account: "admin"}
            actions: ["*"]
          - match: {account: "", name: "hello-world"}
            actions: ["pull"]
        """
        let config = try AuthConfiguration.parse(yaml: yaml)
        #expect(config.token.issuer == "Auth Service")
        #expect(config.users?["admin"]?.labels == ["group": ["admins"]])
        #expect(config.acl?.count == 2)
        #expect(AuthConfiguration.unsupportedKeys(yaml: yaml) == ["mongo_auth", "server.letsencrypt"])
        // ldap_auth is read; what it lacks is named.
        let ldap = yaml.replacingOccurrences(of: "mongo_auth:\n  dial_info: {addrs: [\"localhost\"]}", with: "ldap_auth:\n  addr: ldap.example.com:636")
        #expect(throws: AuthError.configuration("auth configuration: ldap_auth.base is required")) { try AuthConfiguration.parse(yaml: ldap) }
        #expect(throws: (any Error).self) { try AuthConfiguration.parse(yaml: "token: {issuer: x, expiration: 0}\nusers: {}\nacl: []\n") }
        #expect(throws: (any Error).self) { try AuthConfiguration.parse(yaml: "token: {issuer: x, expiration: 60}\nacl: []\n") }
        #expect(throws: (any Error).self) { try AuthConfiguration.parse(yaml: "token: {issuer: x, expiration: 60}\nusers: {}\n") }
    }
}
