import Auth
import HTTPTypes
import Hummingbird

/// The one place that decides who the client is behind proxies, for every door: the token
/// endpoint, web sign-in, the admin API, Basic auth, ACL `ip` rules, the failed-login
/// limiter and the audit log.
///
/// - docker_auth's `server.real_ip_header`/`real_ip_pos`, when configured, is taken as is
///   (the operator said a proxy always sets it); a request without it has no address.
/// - Otherwise, from a peer in `trustedProxies`, `X-Forwarded-For` is read from the right,
///   skipping trusted proxies; from any other peer the socket address stands.
/// - Forwarded headers (`Forwarded`, `X-Forwarded-*`) from a peer that is not a trusted proxy
///   are removed before any handler sees them, so a client cannot choose the URLs and token
///   realm Berth builds (`http.host` set makes those fixed anyway).
package struct ClientAddressPolicy: Sendable {
    var realIPHeader: HTTPField.Name?
    var realIPPosition = 0
    var trustedProxies: [CIDR] = Self.defaultTrustedProxies

    package init() {}

    /// Loopback and private networks: a proxy on the same host or network.
    static let defaultTrustedProxies: [CIDR] = ["127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
        .compactMap(CIDR.init)

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let forwardedHeaders: [HTTPField.Name] = [
        HTTPField.Name("Forwarded")!, forwardedFor, HTTPField.Name("X-Forwarded-Host")!,
        HTTPField.Name("X-Forwarded-Proto")!, HTTPField.Name("X-Forwarded-Port")!,
    ]

    enum Resolution: Equatable {
        case address(IPAddress?)
        /// `real_ip_header` is configured but the request lacks a usable value.
        case missing
    }

    /// A peer without an IP address is local (a Unix socket, an in-process client).
    func trusts(_ peer: IPAddress?) -> Bool {
        guard let peer else { return true }
        return trustedProxies.contains { $0.contains(peer) }
    }

    func resolve(peer: IPAddress?, headers: HTTPFields) -> Resolution {
        resolve(peer: peer, trusted: trusts(peer), headers: headers)
    }

    /// `trusted`: `trusts(peer)`, asked once per request by the middleware.
    func resolve(peer: IPAddress?, trusted: Bool, headers: HTTPFields) -> Resolution {
        if let realIPHeader {
            let addresses = (headers[realIPHeader] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let index = realIPPosition >= 0 ? realIPPosition : addresses.count + realIPPosition
            guard addresses.indices.contains(index), let address = IPAddress(addresses[index]) else { return .missing }
            return .address(address)
        }
        guard trusted, let forwarded = headers[Self.forwardedFor] else { return .address(peer) }
        var client = peer
        for hop in forwarded.split(separator: ",").reversed() {
            guard let address = IPAddress(hop.trimmingCharacters(in: .whitespaces)) else { break }
            client = address
            if !trusts(address) { break }
        }
        return .address(client)
    }

    /// The request as handlers should see it: without forwarded headers an untrusted peer set.
    func sanitized(_ request: Request, trusted: Bool) -> Request {
        guard !trusted, Self.forwardedHeaders.contains(where: { request.headers[$0] != nil }) else { return request }
        var head = request.head
        for name in Self.forwardedHeaders { head.headerFields[name] = nil }
        return Request(head: head, body: request.body)
    }

    func sanitized(_ request: Request, peer: IPAddress?) -> Request {
        sanitized(request, trusted: trusts(peer))
    }
}

/// Puts the client address on the context (and drops forwarded headers it must not trust).
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    let policy: ClientAddressPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The context starts with the socket peer as the client address.
        let peer = context.clientAddress
        let trusted = policy.trusts(peer)
        var context = context
        switch policy.resolve(peer: peer, trusted: trusted, headers: request.headers) {
        case .address(let address): context.clientAddress = address
        case .missing:
            context.clientAddress = nil
            context.clientAddressMissing = true
        }
        return try await next(policy.sanitized(request, trusted: trusted), context)
    }
}
