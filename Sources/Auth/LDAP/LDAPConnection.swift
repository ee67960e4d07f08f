import CLDAP
import Foundation

/// One libldap connection, used by one thread at a time and closed when released. Its
/// calls block (with the configured timeouts), so it lives on `LDAPAuthentication`'s own
/// thread pool, never on an event loop.
final class LDAPConnection {
    struct Failure: Error, CustomStringConvertible {
        let code: Int32
        let operation: String
        let diagnostic: String?

        var isInvalidCredentials: Bool { code == LDAP_INVALID_CREDENTIALS }
        var description: String {
            var text = "\(operation): \(String(cString: ldap_err2string(code)))"
            if let diagnostic, !diagnostic.isEmpty { text += " (\(diagnostic))" }
            return text
        }
    }

    struct Entry {
        var dn: String
        var attributes: [String: [String]]
    }

    struct TLSOptions {
        var startTLS: Bool
        var skipVerify: Bool
        var caFile: String?
    }

    private let handle: OpaquePointer
    private let timeoutSeconds: Int32

    init(uri: String, tls: TLSOptions, timeoutSeconds: Int32) throws {
        var handle: OpaquePointer?
        let rc = ldap_initialize(&handle, uri)
        guard rc == LDAP_SUCCESS, let handle else {
            throw Failure(code: rc, operation: "connect to \(uri)", diagnostic: nil)
        }
        self.handle = handle
        self.timeoutSeconds = timeoutSeconds
        try check(berth_ldap_set_int(handle, LDAP_OPT_PROTOCOL_VERSION, LDAP_VERSION3), "set protocol version")
        try check(berth_ldap_referrals_off(handle), "turn referrals off")
        try check(berth_ldap_set_timeouts(handle, timeoutSeconds), "set timeouts")
        let requireCert = tls.skipVerify ? LDAP_OPT_X_TLS_NEVER : LDAP_OPT_X_TLS_DEMAND
        try check(berth_ldap_set_int(handle, LDAP_OPT_X_TLS_REQUIRE_CERT, requireCert), "set TLS verification")
        if let caFile = tls.caFile {
            try check(berth_ldap_set_string(handle, LDAP_OPT_X_TLS_CACERTFILE, caFile), "set TLS CA file")
        }
        // A context of this connection's own, so its CA and verification settings apply.
        try check(berth_ldap_set_int(handle, LDAP_OPT_X_TLS_NEWCTX, 0), "create TLS context")
        if tls.startTLS {
            try check(ldap_start_tls_s(handle, nil, nil), "StartTLS")
        }
    }

    deinit {
        ldap_unbind_ext_s(handle, nil, nil)
    }

    /// A simple bind; an empty DN and password bind anonymously.
    func bind(dn: String, password: String) throws {
        let rc = password.withCString { pointer in
            berth_ldap_simple_bind(handle, dn, pointer, strlen(pointer))
        }
        try check(rc, dn.isEmpty ? "anonymous bind" : "bind as \(dn)")
    }

    /// A subtree search for at most `limit` entries: finding more is reported as
    /// `LDAP_SIZELIMIT_EXCEEDED`.
    func search(base: String, filter: String, attributes: [String], limit: Int32) throws -> [Entry] {
        // "1.1": no attributes, only the DNs.
        let requested = attributes.isEmpty ? ["1.1"] : attributes
        var cStrings: [UnsafeMutablePointer<CChar>?] = requested.map { strdup($0) }
        cStrings.append(nil)
        defer { cStrings.forEach { free($0) } }
        var result: OpaquePointer?
        let rc = cStrings.withUnsafeMutableBufferPointer { buffer in
            berth_ldap_search_subtree(handle, base, filter, buffer.baseAddress, timeoutSeconds, limit, &result)
        }
        defer { if let result { ldap_msgfree(result) } }
        try check(rc, "search \(base) for \(filter)")
        var entries: [Entry] = []
        var entry = ldap_first_entry(handle, result)
        while let current = entry {
            var dn = ""
            if let pointer = ldap_get_dn(handle, current) {
                dn = String(cString: pointer)
                ldap_memfree(pointer)
            }
            var values: [String: [String]] = [:]
            for attribute in attributes {
                guard let list = ldap_get_values_len(handle, current, attribute) else { continue }
                var index = 0
                while let value = list[index] {
                    let bytes = UnsafeRawBufferPointer(start: value.pointee.bv_val, count: Int(value.pointee.bv_len))
                    values[attribute, default: []].append(String(decoding: bytes, as: UTF8.self))
                    index += 1
                }
                ldap_value_free_len(list)
            }
            entries.append(Entry(dn: dn, attributes: values))
            entry = ldap_next_entry(handle, current)
        }
        return entries
    }

    private func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws {
        guard rc != LDAP_SUCCESS else { return }
        var diagnostic: String?
        if let pointer = berth_ldap_diagnostic(handle) {
            diagnostic = String(cString: pointer)
            ldap_memfree(UnsafeMutableRawPointer(mutating: pointer))
        }
        throw Failure(code: rc, operation: operation(), diagnostic: diagnostic)
    }
}
