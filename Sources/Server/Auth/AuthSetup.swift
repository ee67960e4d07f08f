import Accounts
import Auth
import HTTPTypes
import Logging
import ServiceLifecycle

/// What the configuration's authentication became (built by the Assembly target's
/// `AuthAssembly`): the registry's door, the token endpoint, the accounts, sign-in providers.
public struct AuthSetup: Sendable {
    /// Who may do what at `/v2/`; nil: an open registry.
    package var registryDoor: Door?
    /// The accounts of `auth.htpasswd`, when that is the authentication.
    package var htpasswd: HtpasswdAccounts?
    package var tokenEndpoint: TokenEndpoint?
    /// The accounts database, when Berth is the token server.
    package var accounts: AccountDirectory?
    /// Verifies bearer tokens (registry and admin API), when token auth is configured.
    package var verifier: TokenVerifier?
    package var serviceName = ""
    /// Browser sign-in through other providers (`oidc_auth`).
    var signInProviders: [any SignInProvider] = []
    package var warnings: [String] = []
    /// docker_auth's `server.real_ip_header`/`real_ip_pos`, which now decide the client
    /// address at every door (`ClientAddressPolicy`), not only the token endpoint.
    package var realIP: (header: String?, position: Int) = (nil, 0)

    package init() {}

    /// Who the client is behind proxies: `real_ip_header` when configured, else
    /// `X-Forwarded-For` from `http.trustedproxies` (default: loopback and private networks).
    package static func clientAddressPolicy(_ config: AuthConfiguration, trustedProxies: [String]?) throws -> ClientAddressPolicy {
        try clientAddressPolicy(realIP: (config.server?.real_ip_header, config.server?.real_ip_pos ?? 0), trustedProxies: trustedProxies)
    }

    package static func clientAddressPolicy(realIP: (header: String?, position: Int), trustedProxies: [String]?) throws -> ClientAddressPolicy {
        var policy = ClientAddressPolicy()
        policy.realIPHeader = realIP.header.flatMap { HTTPField.Name($0) }
        policy.realIPPosition = realIP.position
        if let trustedProxies {
            policy.trustedProxies = try trustedProxies.map { proxy in
                guard let range = CIDR(proxy) else {
                    throw AuthError.configuration("http.trustedproxies: \(proxy.prefix(64)) is not an address or CIDR range")
                }
                return range
            }
        }
        return policy
    }
}

extension AuthSetup {
    /// Browser sign-in through the providers of Berth's own `auth.token` sections.
    package mutating func configureSignIn(sections: [String: String]) throws {
        signInProviders = try SignInProviders.make(sections: sections)
    }

    /// Browser sign-in through the providers of a docker_auth configuration (`oidc_auth`, …).
    package mutating func configureSignIn(_ config: AuthConfiguration) throws {
        signInProviders = try SignInProviders.make(config)
    }

    /// Checks the people who signed in through a provider with it again, on a schedule; nil
    /// without providers or accounts.
    package func providerRevalidation(secret: [UInt8], logger: Logger) -> (any Service)? {
        guard let accounts, !signInProviders.isEmpty else { return nil }
        return FederatedRevalidation(providers: signInProviders, accounts: AccountAdministration(directory: accounts),
                                     sealer: SecretSealer.forProviderTokens(secret: secret), logger: logger)
    }
}
