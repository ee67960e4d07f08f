/// What a policy granted and which rule decided, so an operator can ask "why" (`berth acl
/// test`, the admin API) instead of guessing from a token.
public struct AccessDecision: Sendable, Equatable, Codable {
    public var actions: [String]
    /// The policy that decided: `acl` (auth_config.yml), `database`, `robot`, `htpasswd`…
    public var policy: String
    /// The deciding rule's position in that policy, from 1; nil when the policy has no rules.
    public var rule: Int?
    public var comment: String?

    public init(actions: [String], policy: String, rule: Int? = nil, comment: String? = nil) {
        self.actions = actions
        self.policy = policy
        self.rule = rule
        self.comment = comment
    }
}

/// An authorizer as docker_auth chains them: a decision, or nil ("no match") to let the
/// next policy decide. Throws `AuthError.unavailable` when it cannot answer.
public protocol AccessPolicy: Sendable {
    func decide(_ request: AccessRequest) async throws -> AccessDecision?
    /// Whether a decision runs something outside this process (ext_authz: a program per
    /// request). A page listing what a visitor may see then asks about a bounded number of
    /// names only; an in-process policy is asked about every one.
    var decidesOutOfProcess: Bool { get }
}

extension AccessPolicy {
    public var decidesOutOfProcess: Bool { false }
}

/// Policies asked in order; the first that matches decides; no match anywhere grants nothing.
public struct PolicyChain: AccessPolicy {
    public let policies: [any AccessPolicy]

    public init(_ policies: [any AccessPolicy]) { self.policies = policies }

    public var decidesOutOfProcess: Bool { policies.contains { $0.decidesOutOfProcess } }

    public func decide(_ request: AccessRequest) async throws -> AccessDecision? {
        for policy in policies {
            if var decision = try await policy.decide(request) {
                if let scopes = request.scopes {
                    let allowed = CredentialScope.allowed(decision.actions, type: request.type, name: request.name, within: scopes)
                    if allowed.count < decision.actions.count {
                        decision.actions = allowed
                        decision.comment = "limited by the access token's scopes (\(scopes.map(\.description).joined(separator: " ")))"
                    }
                }
                return decision
            }
        }
        return nil
    }

    /// The granted actions, empty when nothing matched.
    public func grantedActions(_ request: AccessRequest) async throws -> [String] {
        try await decide(request)?.actions ?? []
    }
}

extension ACL: AccessPolicy {
    public func decide(_ request: AccessRequest) async throws -> AccessDecision? { decision(request) }
}
