import Auth
import HTTPTypes
import Hummingbird
import NIOCore

/// Per-request context: Hummingbird's core storage, the peer address and the request id
/// every log line and event of the request carries.
public struct BerthRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// Hummingbird's id, or the `X-Request-Id` a proxy in front of Berth set.
    public var requestID: String
    /// Where the answering route group writes what the request addressed (set by the access
    /// log middleware, which reads it back).
    var routeLabel: RouteLabel?
    /// The registry endpoint a `/v2/` request names, parsed once by `RegistryRouteMiddleware`.
    var registryRoute: RegistryRoute?
    /// The authenticated account (empty: anonymous), set by the registry's access check.
    var caller: String?
    /// The client behind any trusted proxy (`ClientAddressPolicy`); the socket peer until
    /// that middleware ran.
    var clientAddress: IPAddress?
    /// `real_ip_header` is configured and this request did not carry it.
    var clientAddressMissing = false
    /// An upload start's query, parsed once by the access check for it and the handler.
    var uploadStart: UploadStartQuery?
    /// What else the caller may pull, set by the access check (nothing until it ran).
    var pullRights: PullRights = .repositories([])
    /// The web UI's visitor (signed in or not), resolved once by `WebSessionMiddleware`.
    var visitor: WebVisitor?
    /// A web UI form's fields, read (and its CSRF token checked) by `WebFormMiddleware`.
    var form: WebForm?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        // Read once: the channel's address is behind a lock.
        let peer = source.channel.remoteAddress
        remoteAddress = peer
        clientAddress = Self.ipAddress(peer)
        requestID = ""
        requestID = id
    }

    /// The peer's address from the socket's bytes (not parsed back from its text on every request).
    static func ipAddress(_ address: SocketAddress?) -> IPAddress? {
        switch address {
        case .v4(let v4)?: withUnsafeBytes(of: v4.address.sin_addr) { IPAddress(bytes: Array($0)) }
        case .v6(let v6)?: withUnsafeBytes(of: v6.address.sin6_addr) { IPAddress(bytes: Array($0)) }
        default: nil
        }
    }

    /// A proxy's request id is kept only when it is short and plain, so it cannot forge
    /// log lines or headers.
    static func acceptableRequestID(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= 128 && value.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
        }
    }

    /// Bodies are streamed; handlers that collect one set their own, smaller limits.
    public var maxUploadSize: Int { 4 * 1024 * 1024 }
}
