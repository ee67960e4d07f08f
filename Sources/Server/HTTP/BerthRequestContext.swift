import HTTPTypes
import Hummingbird
import NIOCore

/// Per-request context: Hummingbird's core storage plus the peer address.
public struct BerthRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Bodies are streamed; handlers that collect one set their own, smaller limits.
    public var maxUploadSize: Int { 4 * 1024 * 1024 }
}
