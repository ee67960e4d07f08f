import OCI
import CLDAP
import Foundation
import NIOPosix

/// docker_auth's `ldap_auth`: bind as the search account, find the one entry `filter`
/// (with `${account}` escaped) matches under `base`, then bind as that entry with the
/// user's password; labels come from the entry's attributes. No entry: not this backend's
/// user (the next one is asked). Several: an error. A directory that cannot be reached or
/// refuses the search account is `.unavailable` (503), never a failed login. The password
/// is only ever sent in a bind, never kept.
public final class LDAPAuthentication: IdentityBackend {
    let configuration: LDAPConfiguration
    private let uri: String
    private let tls: LDAPConnection.TLSOptions
    private let bindPassword: String
    private let timeoutSeconds: Int32
    /// libldap blocks; its calls get threads of their own so a slow directory cannot hold
    /// up bcrypt checks or file I/O on the shared pool.
    private let pool: NIOThreadPool

    public init(_ configuration: LDAPConfiguration, threads: Int = 8) throws {
        self.configuration = configuration
        uri = try configuration.uri()
        let transport = try configuration.transport()
        if let ca = configuration.ca_certificate, !FileManager.default.isReadableFile(atPath: ca) {
            throw AuthError.configuration("ldap_auth.ca_certificate: cannot read \(ca)")
        }
        tls = .init(startTLS: transport == .startTLS, skipVerify: configuration.insecure_tls_skip_verify ?? false,
                    caFile: configuration.ca_certificate)
        if let file = configuration.bind_password_file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw AuthError.configuration("ldap_auth.bind_password_file: cannot read \(file)")
            }
            bindPassword = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            bindPassword = ""
        }
        guard !configuration.base.isEmpty else { throw AuthError.configuration("ldap_auth.base is required") }
        guard configuration.filter.contains("${account}") else {
            throw AuthError.configuration("ldap_auth.filter must contain ${account}")
        }
        if configuration.initial_bind_as_user == true, !(configuration.bind_dn ?? "").contains("${account}") {
            throw AuthError.configuration("ldap_auth.bind_dn must contain ${account} when initial_bind_as_user is set")
        }
        let timeout = try GoDuration.parse(configuration.timeout, key: "ldap_auth.timeout", default: .seconds(10))
        timeoutSeconds = Int32(max(1, timeout.components.seconds + (timeout.components.attoseconds > 0 ? 1 : 0)))
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    public func authenticate(user: String, password: String) async throws -> Identity? {
        guard !user.isEmpty, !password.isEmpty else { return nil }
        return try await run { try self.authenticateBlocking(user: user, password: password) }
    }

    /// The entry as the search account sees it now: a person removed from the directory
    /// loses their refresh tokens. With `initial_bind_as_user` there is no search account,
    /// so the directory cannot be asked without the password (`answersLookups` is false).
    public var answersLookups: Bool { configuration.initial_bind_as_user != true }

    public func lookup(user: String) async throws -> Identity? {
        guard !user.isEmpty, answersLookups else { return nil }
        return try await run {
            let connection = try self.connect()
            try connection.bind(dn: self.configuration.bind_dn ?? "", password: self.bindPassword)
            guard let entry = try self.findEntry(user, on: connection) else { return nil }
            return Identity(account: user, labels: self.labels(of: entry))
        }
    }

    private func run(_ body: @escaping @Sendable () throws -> Identity?) async throws -> Identity? {
        do {
            return try await pool.runIfActive(body)
        } catch let error as AuthError {
            throw error
        } catch {
            throw AuthError.unavailable("ldap_auth: \(error)")
        }
    }

    private func connect() throws -> LDAPConnection {
        try LDAPConnection(uri: uri, tls: tls, timeoutSeconds: timeoutSeconds)
    }

    private func authenticateBlocking(user: String, password: String) throws -> Identity? {
        let connection = try connect()
        let bindDN = configuration.bind_dn ?? ""
        if configuration.initial_bind_as_user == true {
            do {
                try connection.bind(dn: bindDN.replacingOccurrences(of: "${account}", with: LDAPText.escapeDNValue(user)),
                                    password: password)
            } catch let failure as LDAPConnection.Failure where failure.isInvalidCredentials {
                throw AuthError.unauthorized("wrong password")
            }
        } else {
            try connection.bind(dn: bindDN, password: bindPassword)
        }
        guard let entry = try findEntry(user, on: connection) else { return nil }
        if configuration.initial_bind_as_user != true {
            do {
                try connection.bind(dn: entry.dn, password: password)
            } catch let failure as LDAPConnection.Failure where failure.isInvalidCredentials {
                throw AuthError.unauthorized("wrong password")
            }
        }
        return Identity(account: user, labels: labels(of: entry))
    }

    private func findEntry(_ user: String, on connection: LDAPConnection) throws -> LDAPConnection.Entry? {
        let filter = configuration.filter.replacingOccurrences(of: "${account}", with: LDAPText.escapeFilterValue(user))
        let attributes = Array(Set((configuration.labels ?? [:]).values.map(\.attribute))).sorted()
        let entries: [LDAPConnection.Entry]
        do {
            entries = try connection.search(base: configuration.base, filter: filter, attributes: attributes, limit: 2)
        } catch let failure as LDAPConnection.Failure where failure.code == LDAP_SIZELIMIT_EXCEEDED {
            throw AuthError.unavailable("ldap_auth: too many entries returned for \(filter)")
        }
        guard entries.count <= 1 else { throw AuthError.unavailable("ldap_auth: too many entries returned for \(filter)") }
        return entries.first
    }

    private func labels(of entry: LDAPConnection.Entry) -> [String: [String]] {
        var labels: [String: [String]] = [:]
        for (name, label) in configuration.labels ?? [:] {
            let values = entry.attributes.first { $0.key.caseInsensitiveCompare(label.attribute) == .orderedSame }?.value ?? []
            labels[name] = values.map { value in
                var value = label.parse_cn == true ? LDAPText.commonName(ofDN: value) : value
                if label.lower_case == true { value = value.lowercased() }
                return value
            }
        }
        return labels
    }
}
