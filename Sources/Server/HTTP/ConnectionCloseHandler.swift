import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Keeps connections that are to close from hanging, below Hummingbird's HTTP handling
/// (between NIO's HTTP/1 parser and the HTTP types codec):
/// - an HTTP/1.0 request without `Connection: keep-alive` is marked `Connection: close`,
///   so the connection ends after its response (Hummingbird reads only the header);
/// - once the response to a closing request is written, the connection is closed, even if
///   the client keeps its side open;
/// - if that response came before the client finished sending its body (an early 413, 401
///   or 404, or an error after `100 Continue`), the rest of the body is read and thrown
///   away, up to `discardLimit` bytes and `discardTime`, so the client gets to read the
///   response instead of stalling on a full socket buffer; then the connection closes.
final class ConnectionCloseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    static let discardLimit = 64 * 1024 * 1024
    static let discardTime = TimeAmount.seconds(30)

    /// One entry per request whose response has not ended, oldest first: whether the
    /// connection closes after that response. A pipelining client's requests all arrive
    /// before the first response, and `Connection: close` applies after its own request only
    /// (RFC 9112 §9.3.2), so this cannot be one flag for the connection.
    private var unanswered: [Bool] = []
    /// The newest request's body is still arriving.
    private var requestOpen = false
    private var discarding = false
    private var discarded = 0
    private var deadline: Scheduled<Void>?

    private let connectionGuard: ConnectionGuard

    init(connectionGuard: ConnectionGuard) {
        self.connectionGuard = connectionGuard
    }

    /// Puts the connection guard first in the pipeline and a new instance of this handler
    /// in front of the HTTP types codec that Hummingbird installed, then removes itself.
    final class Installer: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny
        let limits: ConnectionLimits
        let counter: ConnectionCounter

        init(limits: ConnectionLimits, counter: ConnectionCounter) {
            self.limits = limits
            self.counter = counter
        }

        func handlerAdded(context: ChannelHandlerContext) {
            let pipeline = context.pipeline.syncOperations
            let connectionGuard = ConnectionGuard(limits: limits, counter: counter)
            if let codec = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) {
                try? pipeline.addHandler(connectionGuard, position: .first)
                try? pipeline.addHandler(ConnectionCloseHandler(connectionGuard: connectionGuard), position: .before(codec))
            }
            _ = pipeline.removeHandler(context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var head):
            requestOpen = true
            connectionGuard.headerReceived()
            unanswered.append(!head.isKeepAlive)
            if !head.isKeepAlive {
                if head.version.major == 1, head.version.minor == 0 {
                    head.headers.replaceOrAdd(name: "connection", value: "close")
                }
            }
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .body(let buffer):
            if discarding {
                discarded += buffer.readableBytes
                if discarded > Self.discardLimit { context.close(promise: nil) }
                return
            }
            context.fireChannelRead(data)
        case .end:
            requestOpen = false
            if discarding {
                context.close(promise: nil)
                return
            }
            if unanswered.isEmpty { connectionGuard.awaitingNextRequest() }
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Hummingbird no longer reads this connection; keep draining it ourselves.
        if discarding { context.read() }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        let closesAfter = unanswered.isEmpty ? false : unanswered.removeFirst()
        // The answered request is the newest one received exactly when nothing is queued
        // behind it; only then may its body still be arriving.
        let answeredStillSending = unanswered.isEmpty && requestOpen
        guard closesAfter else {
            if unanswered.isEmpty && !requestOpen { connectionGuard.awaitingNextRequest() }
            context.write(data, promise: promise)
            return
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.cascade(to: promise)
        context.write(data, promise: written)
        written.futureResult.whenComplete { [self] _ in
            if answeredStillSending {
                discarding = true
                deadline = context.eventLoop.scheduleTask(in: Self.discardTime) { context.close(promise: nil) }
                context.read()
            } else {
                context.close(promise: nil)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }
}
