/// What the ACL decides on: who asks, from where, for which resource and actions.
public struct AccessRequest: Sendable {
    public var account: String
    public var labels: [String: [String]]
    public var type: String
    public var name: String
    public var service: String
    public var ip: IPAddress?
    public var actions: [String]
    /// The credential's own limits (a scoped access token); the chain grants nothing beyond them.
    public var scopes: [CredentialScope]?

    /// A request by `identity`, with its labels and its credential's limits.
    public init(identity: Identity, type: String, name: String, service: String, ip: IPAddress? = nil, actions: [String]) {
        self.init(account: identity.account, labels: identity.labels, type: type, name: name, service: service, ip: ip, actions: actions)
        scopes = identity.scopes
    }

    public init(account: String, labels: [String: [String]] = [:], type: String, name: String, service: String,
                ip: IPAddress? = nil, actions: [String]) {
        self.account = account
        self.labels = labels
        self.type = type
        self.name = name
        self.service = service
        self.ip = ip
        self.actions = actions
    }
}
