import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a registry client may be sent, and where its credentials may go.
///
/// - A redirect is followed to the registry's own host, or to another host (an object store
///   serving blobs), never from HTTPS down to HTTP, and never to a loopback,
///   link-local or unspecified address unless the registry itself is at one: a hostile
///   upstream cannot aim the mirror at the machine it runs on or at a cloud metadata service.
/// - Credentials go only to the registry's own host, a host it names as its token server when
///   that is the same domain (`auth.docker.io` for `registry-1.docker.io`, `gitlab.com` for
///   `registry.gitlab.com`) or is listed in `tokenHosts`; never from HTTPS down to HTTP.
///   Other token servers are asked anonymously.
struct UpstreamHosts: Sendable {
    let base: URL
    var tokenHosts: [String] = []

    func isSameHost(_ url: URL) -> Bool {
        url.host?.lowercased() == base.host?.lowercased() && (url.port ?? defaultPort(url)) == (base.port ?? defaultPort(base))
    }

    private func defaultPort(_ url: URL) -> Int { url.scheme == "http" ? 80 : 443 }

    private func isDowngrade(_ url: URL) -> Bool { base.scheme == "https" && url.scheme != "https" }

    func mayFollowRedirect(to url: URL) -> Bool {
        guard let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty else { return false }
        if isSameHost(url) { return !isDowngrade(url) }
        // A registry served over plain HTTP (a test or private network) may name its object
        // store over HTTP too; one over HTTPS never sends the mirror down to HTTP.
        guard !isDowngrade(url) else { return false }
        return !Self.isLocal(host) || Self.isLocal(base.host ?? "")
    }

    func maySendCredentials(to url: URL) -> Bool {
        guard let host = url.host?.lowercased(), !isDowngrade(url) else { return false }
        if isSameHost(url) || tokenHosts.contains(where: { $0.lowercased() == host }) { return true }
        guard url.scheme == "https", let own = base.host?.lowercased() else { return false }
        return Self.sharesDomain(own, host)
    }

    /// `auth.docker.io` and `registry-1.docker.io` share `docker.io`; `gitlab.com` is the parent
    /// of `registry.gitlab.com`. A shared suffix must keep at least two labels beyond a short
    /// second-level one (`co.uk` alone is not a domain of anyone's).
    static func sharesDomain(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: ".").reversed().map(String.init)
        let y = b.split(separator: ".").reversed().map(String.init)
        var common = 0
        while common < min(x.count, y.count), x[common] == y[common] { common += 1 }
        guard common >= 2 else { return false }
        // `example.co.uk`: the second label is short, one more must match.
        if x[1].count <= 3, x[0].count == 2 { return common >= 3 }
        return true
    }

    /// Loopback, link-local, unspecified, `localhost`, and any numeric form the resolver would
    /// take as one of those (`2130706433`, `0x7f.1`).
    static func isLocal(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        var v4 = in_addr()
        if inet_aton(name, &v4) != 0 {
            let bytes = withUnsafeBytes(of: v4.s_addr) { Array($0) }
            return bytes[0] == 127 || bytes[0] == 0 || (bytes[0] == 169 && bytes[1] == 254)
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            if bytes.allSatisfy({ $0 == 0 }) || (bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1) { return true }
            if bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80 { return true }
            // IPv4-mapped: judge the IPv4 address.
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
                return bytes[12] == 127 || bytes[12] == 0 || (bytes[12] == 169 && bytes[13] == 254)
            }
        }
        return false
    }
}
