import Foundation
import Yams

/// A cesanta/docker_auth `auth_config.yml` (the keys Berth implements), also accepted as
/// the `auth` section's token-server part of Berth's own configuration.
public struct AuthConfiguration: Sendable, Decodable {
    public struct Server: Sendable, Decodable {
        public var addr: String?
        public var certificate: String?
        public var key: String?
        public var path_prefix: String?
        public var real_ip_header: String?
        public var real_ip_pos: Int?
    }

    public struct Token: Sendable, Decodable {
        public var issuer: String
        public var expiration: Int
        public var certificate: String?
        public var key: String?
    }

    public struct User: Sendable, Decodable {
        public var password: String?
        public var labels: [String: [String]]?

        public init(password: String? = nil, labels: [String: [String]]? = nil) {
            self.password = password
            self.labels = labels
        }
    }

    public var server: Server?
    public var token: Token
    public var users: [String: User]?
    public var acl: [ACLRule]?

    public static func parse(yaml: String) throws -> AuthConfiguration {
        let config: AuthConfiguration
        do {
            config = try YAMLDecoder().decode(AuthConfiguration.self, from: yaml)
        } catch let error as DecodingError {
            throw AuthError.configuration("auth configuration: \(Self.describe(error))")
        }
        guard !config.token.issuer.isEmpty else { throw AuthError.configuration("token.issuer is required") }
        guard config.token.expiration > 0 else { throw AuthError.configuration("token.expiration must be positive") }
        guard config.users != nil else {
            throw AuthError.configuration("no auth methods are configured: add users")
        }
        guard config.acl != nil else { throw AuthError.configuration("ACL is empty: add acl rules") }
        _ = try ACL(config.acl ?? [])
        return config
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let c): "\((c.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")) is required"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        @unknown default: "invalid document"
        }
    }
}
