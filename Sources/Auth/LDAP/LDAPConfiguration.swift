import Foundation

/// docker_auth's `ldap_auth` section, key for key. `timeout` (a Go duration, default 10s)
/// is Berth's: a directory that does not answer is an error (503), not a hung login.
public struct LDAPConfiguration: Sendable, Decodable, Equatable {
    public struct Label: Sendable, Decodable, Equatable {
        public var attribute: String
        public var parse_cn: Bool?
        public var lower_case: Bool?

        public init(attribute: String, parse_cn: Bool? = nil, lower_case: Bool? = nil) {
            self.attribute = attribute
            self.parse_cn = parse_cn
            self.lower_case = lower_case
        }
    }

    public var addr: String
    /// "" or "none" (plain), "always" (LDAPS), "starttls".
    public var tls: String?
    public var insecure_tls_skip_verify: Bool?
    public var ca_certificate: String?
    public var bind_dn: String?
    public var bind_password_file: String?
    public var base: String
    public var filter: String
    public var labels: [String: Label]?
    /// `bind_dn` is a template with `${account}`; the first bind is as the user.
    public var initial_bind_as_user: Bool?
    public var timeout: String?

    public init(addr: String, tls: String? = nil, insecure_tls_skip_verify: Bool? = nil, ca_certificate: String? = nil,
                bind_dn: String? = nil, bind_password_file: String? = nil, base: String, filter: String,
                labels: [String: Label]? = nil, initial_bind_as_user: Bool? = nil, timeout: String? = nil) {
        self.addr = addr
        self.tls = tls
        self.insecure_tls_skip_verify = insecure_tls_skip_verify
        self.ca_certificate = ca_certificate
        self.bind_dn = bind_dn
        self.bind_password_file = bind_password_file
        self.base = base
        self.filter = filter
        self.labels = labels
        self.initial_bind_as_user = initial_bind_as_user
        self.timeout = timeout
    }

    static let knownKeys: Set<String> = [
        "addr", "tls", "insecure_tls_skip_verify", "ca_certificate", "bind_dn", "bind_password_file",
        "base", "filter", "labels", "initial_bind_as_user", "timeout",
    ]

    enum Transport: Equatable {
        case plain, ldaps, startTLS
    }

    /// docker_auth's rule: no `tls` and port 636 means LDAPS.
    func transport() throws -> Transport {
        switch tls ?? "" {
        case "", "none": addr.hasSuffix(":636") && (tls ?? "").isEmpty ? .ldaps : .plain
        case "always": .ldaps
        case "starttls": .startTLS
        case let other: throw AuthError.configuration("ldap_auth.tls: \"\(other)\" is not none, always or starttls")
        }
    }

    /// The connection URI libldap is given: `ldap://` or `ldaps://` and `addr`.
    func uri() throws -> String {
        guard !addr.isEmpty, !addr.contains("/"), !addr.contains(" "), addr.contains(":") else {
            throw AuthError.configuration("ldap_auth.addr: \"\(addr)\" is not host:port")
        }
        return (try transport() == .ldaps ? "ldaps://" : "ldap://") + addr
    }
}
