import Auth
import Foundation
import Testing

/// The slapd Tests/support/slapd.sh starts (scripts/test.sh does so for `swift test`):
/// without it the LDAP cases fail under CI=true and are left out elsewhere.
enum TestDirectory {
    static let environment = ProcessInfo.processInfo.environment
    static let base = "dc=berth,dc=test"

    struct Server {
        var plain: String
        var tls: String
        var caFile: String
        var bindPasswordFile: String

        /// host:port of a URL such as ldap://127.0.0.1:389.
        static func address(_ url: String) -> String { String(url.split(separator: "/").last ?? "") }

        func configuration(tls mode: String? = nil, overTLSPort: Bool = false, caFile: String? = nil, skipVerify: Bool? = nil,
                           labels: [String: LDAPConfiguration.Label]? = nil, filter: String = "(&(objectClass=inetOrgPerson)(uid=${account}))",
                           bindDN: String? = "cn=reader,dc=berth,dc=test", initialBindAsUser: Bool? = nil) -> LDAPConfiguration {
            LDAPConfiguration(addr: Self.address(overTLSPort ? tls : plain), tls: mode, insecure_tls_skip_verify: skipVerify,
                              ca_certificate: caFile, bind_dn: bindDN,
                              bind_password_file: initialBindAsUser == true ? nil : bindPasswordFile,
                              base: base, filter: filter, labels: labels, initial_bind_as_user: initialBindAsUser,
                              timeout: "5s")
        }
    }

    static var server: Server? {
        guard let plain = environment["BERTH_TEST_LDAP"], let tls = environment["BERTH_TEST_LDAPS"],
              let ca = environment["BERTH_TEST_LDAP_CA"], let password = environment["BERTH_TEST_LDAP_BIND_PASSWORD_FILE"] else {
            if environment["CI"] == "true" {
                Issue.record("BERTH_TEST_LDAP is not set: the LDAP tests cannot run (Tests/support/slapd.sh starts a server)")
            }
            return nil
        }
        return Server(plain: plain, tls: tls, caFile: ca, bindPasswordFile: password)
    }

    static let groups: [String: LDAPConfiguration.Label] = [
        "groups": .init(attribute: "memberOf", parse_cn: true, lower_case: true),
        "mail": .init(attribute: "mail"),
    ]
}
