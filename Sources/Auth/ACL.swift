import Foundation

/// One entry of a docker_auth ACL.
public struct ACLRule: Sendable, Codable, Equatable {
    public struct Match: Sendable, Codable, Equatable {
        public var account: String?
        public var type: String?
        public var name: String?
        public var ip: String?
        public var service: String?
        public var labels: [String: String]?

        public init(account: String? = nil, type: String? = nil, name: String? = nil, ip: String? = nil,
                    service: String? = nil, labels: [String: String]? = nil) {
            self.account = account
            self.type = type
            self.name = name
            self.ip = ip
            self.service = service
            self.labels = labels
        }
    }

    public var match: Match
    /// `["*"]` grants whatever is asked; `[]` denies; nil (absent) also denies.
    public var actions: [String]?
    public var comment: String?

    public init(match: Match, actions: [String]?, comment: String? = nil) {
        self.match = match
        self.actions = actions
        self.comment = comment
    }
}

/// docker_auth's ACL: ordered rules, the first whose `match` fits decides.
public struct ACL: Sendable {
    public let rules: [ACLRule]
    /// Names the policy in decisions (`acl` for auth_config.yml, `database`, `htpasswd`).
    public let source: String

    public init(_ rules: [ACLRule], source: String = "acl") throws(AuthError) {
        for rule in rules {
            try Self.validate(rule)
        }
        // Account names are NFC at every door; a rule written in another form must match them.
        self.rules = rules.map { rule in
            var rule = rule
            rule.match.account = rule.match.account.map(AccountName.canonical)
            return rule
        }
        self.source = source
    }

    /// Refuses a rule whose patterns, regexes or address range cannot work, with the reason.
    public static func validate(_ rule: ACLRule) throws(AuthError) {
        let m = rule.match
        for pattern in [m.account, m.type, m.name, m.service].compactMap({ $0 }) + (m.labels.map { Array($0.values) } ?? []) {
            // Placeholders are substituted per request; validate the pattern's own syntax.
            try Pattern.validate(pattern.replacingOccurrences(of: "${", with: "_{"))
        }
        if let ip = m.ip, CIDR(ip) == nil {
            throw AuthError.configuration("invalid ip match \(ip)")
        }
        for action in rule.actions ?? [] where action.isEmpty || action.utf8.count > 64 || action.contains(",") {
            throw AuthError.configuration("invalid action \(action.prefix(64))")
        }
    }

    /// The granted actions (requested ∩ allowed, sorted), or nil when no rule matches.
    public func authorize(_ request: AccessRequest) -> [String]? {
        decision(request)?.actions
    }

    /// The first matching rule's grant, with its position.
    public func decision(_ request: AccessRequest) -> AccessDecision? {
        decision(request, includingRule: { _ in true })
    }

    /// The first matching rule's grant among those `includingRule(index)` keeps (rules that
    /// expired are skipped without rebuilding the ACL).
    public func decision(_ request: AccessRequest, includingRule: (Int) -> Bool) -> AccessDecision? {
        for (index, rule) in rules.enumerated() where includingRule(index) {
            guard let matched = Self.matches(rule.match, request) else {
                // A regex gave up at its step limit: skipping the rule could let a later one
                // grant what this one denies, so the request is denied here.
                return AccessDecision(actions: [], policy: source, rule: index + 1,
                                      comment: "a pattern of this rule took too long on this request; denied")
            }
            guard matched else { continue }
            let allowed = rule.actions ?? []
            let actions = allowed.contains("*") ? request.actions.sorted() : Set(request.actions).intersection(allowed).sorted()
            return AccessDecision(actions: actions, policy: source, rule: index + 1, comment: rule.comment)
        }
        return nil
    }

    /// Whether the rule matches the request; nil when one of its regexes gave up.
    static func matches(_ m: ACLRule.Match, _ r: AccessRequest) -> Bool? {
        var captures: [String: [String]] = [:]
        let fields: [(String, String?, String)] = [
            ("account", m.account, r.account), ("type", m.type, r.type), ("name", m.name, r.name), ("service", m.service, r.service),
        ]
        // Capture groups of each field's own regex, for `${field:N}` elsewhere.
        for (key, pattern, value) in fields {
            guard let pattern, Pattern.isRegex(pattern), !pattern.contains("${") else { continue }
            switch Pattern.regexMatch(Pattern.regexBody(pattern), value) {
            case .match(let groups): captures[key] = groups
            case .noMatch: break
            case .exhausted: return nil
            }
        }
        /// Whether some candidate matches some value; nil as soon as one gave up.
        func anyMatch(_ candidates: [String], _ values: [String]) -> Bool? {
            for value in values {
                for candidate in candidates {
                    guard let matched = Pattern.evaluate(candidate, value) else { return nil }
                    if matched { return true }
                }
            }
            return false
        }
        for (_, pattern, value) in fields {
            guard let pattern else { continue }
            guard let matched = anyMatch(expansions(pattern, r, captures), [value]) else { return nil }
            if !matched { return false }
        }
        if let ip = m.ip {
            guard let cidr = CIDR(ip), let address = r.ip, cidr.contains(address) else { return false }
        }
        for (label, pattern) in m.labels ?? [:] {
            guard let matched = anyMatch(expansions(pattern, r, captures), r.labels[label] ?? []) else { return nil }
            if !matched { return false }
        }
        return true
    }

    /// A pattern with its placeholders substituted. `${labels:KEY}` yields one candidate per
    /// label value (every combination when several appear). As in docker_auth, `${account}`,
    /// `${name}`, `${type}` and `${service}` are escaped for the pattern kind they land in,
    /// while label values and `${field:N}` captures go in raw: a label `socke*` is a pattern.
    static func expansions(_ pattern: String, _ r: AccessRequest, _ captures: [String: [String]]) -> [String] {
        // Stdlib bytes, not Foundation's string search: every rule's patterns, every request.
        guard pattern.utf8.contains(UInt8(ascii: "$")), pattern.contains("${") else { return [pattern] }
        let regex = Pattern.isRegex(pattern)
        func escape(_ value: String) -> String {
            if regex { return NSRegularExpression.escapedPattern(for: value) }
            var out = ""
            for c in value {
                if "*?[]\\".contains(c) { out.append("\\") }
                out.append(c)
            }
            return out
        }
        var results = [""]
        var rest = Substring(pattern)
        while let start = rest.range(of: "${") {
            let literal = String(rest[..<start.lowerBound])
            results = results.map { $0 + literal }
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                results = results.map { $0 + String(rest[start.lowerBound...]) }
                return results
            }
            let key = String(rest[start.upperBound..<end])
            var values: [String]
            switch key {
            case "account": values = [escape(r.account)]
            case "name": values = [escape(r.name)]
            case "type": values = [escape(r.type)]
            case "service": values = [escape(r.service)]
            default:
                if key.hasPrefix("labels:") {
                    values = r.labels[String(key.dropFirst("labels:".count))] ?? []
                } else if let colon = key.firstIndex(of: ":"), let index = Int(key[key.index(after: colon)...]),
                          let groups = captures[String(key[..<colon])], index < groups.count {
                    values = [groups[index]]
                } else {
                    values = []
                }
            }
            results = results.flatMap { prefix in values.map { prefix + $0 } }
            rest = rest[rest.index(after: end)...]
        }
        return results.map { $0 + rest }
    }
}

extension ACLRule.Match {
    /// One line for listings (the CLI, the web UI): each condition as `key=pattern`.
    public var summary: String {
        var parts: [String] = []
        if let account { parts.append("account=\(account.isEmpty ? "''" : account)") }
        if let type { parts.append("type=\(type)") }
        if let name { parts.append("name=\(name)") }
        if let service { parts.append("service=\(service)") }
        if let ip { parts.append("ip=\(ip)") }
        for (key, value) in (labels ?? [:]).sorted(by: { $0.key < $1.key }) { parts.append("labels.\(key)=\(value)") }
        return parts.isEmpty ? "(everything)" : parts.joined(separator: " ")
    }
}
