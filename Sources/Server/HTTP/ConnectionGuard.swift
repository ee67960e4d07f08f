import NIOConcurrencyHelpers
import NIOCore

/// Limits against clients that hold connections without using them (slowloris): at most
/// `perAddress` open connections from one address (0: no limit), and a request's header
/// must arrive within `headerTimeout` of its first byte (of the connection's start, for
/// the first request). Normal clients are not affected: a keep-alive connection may idle
/// between requests as long as the idle timeout allows.
public struct ConnectionLimits: Sendable {
    public var headerTimeout: TimeAmount
    public var perAddress: Int

    public init(headerTimeout: TimeAmount = .seconds(30), perAddress: Int = 256) {
        self.headerTimeout = headerTimeout
        self.perAddress = perAddress
    }
}

/// Open connections per client address, shared by every connection of one listener.
final class ConnectionCounter: Sendable {
    private let counts = NIOLockedValueBox<[String: Int]>([:])

    func acquire(_ address: String, limit: Int) -> Bool {
        counts.withLockedValue { counts in
            let current = counts[address, default: 0]
            guard limit == 0 || current < limit else { return false }
            counts[address] = current + 1
            return true
        }
    }

    func release(_ address: String) {
        counts.withLockedValue { counts in
            let remaining = counts[address, default: 1] - 1
            counts[address] = remaining > 0 ? remaining : nil
        }
    }
}

/// The byte-level half, first in the pipeline: counts the connection against its address
/// and runs the header deadline, which `ConnectionCloseHandler` stops when a request head
/// has been parsed and re-arms when the connection waits for the next request.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let limits: ConnectionLimits
    let counter: ConnectionCounter
    private var address: String?
    /// When the header now awaited began to arrive (nil: none is awaited). Only a timestamp
    /// is taken per request; the timer is scheduled at most once per timeout period.
    private var headerSince: NIODeadline?
    private var timer: Scheduled<Void>?
    /// Between requests the clock starts with the next request's first byte.
    private var waitingForRequest = false

    init(limits: ConnectionLimits, counter: ConnectionCounter) {
        self.limits = limits
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard address == nil else { return }
        let ip = context.channel.remoteAddress?.ipAddress ?? "unknown"
        address = ip
        guard counter.acquire(ip, limit: limits.perAddress) else {
            address = "" // not counted: nothing to release
            context.close(promise: nil)
            return
        }
        arm(context)
    }

    private func arm(_ context: ChannelHandlerContext) {
        headerSince = .now()
        if timer == nil { schedule(context, in: limits.headerTimeout) }
    }

    private func schedule(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        timer = context.eventLoop.scheduleTask(in: delay) { [weak self, weak context] in
            guard let self, let context else { return }
            self.timer = nil
            guard let since = self.headerSince else { return }
            let waited = NIODeadline.now() - since
            if waited >= self.limits.headerTimeout {
                context.close(promise: nil)
            } else {
                self.schedule(context, in: self.limits.headerTimeout - waited)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if waitingForRequest {
            waitingForRequest = false
            arm(context)
        }
        context.fireChannelRead(data)
    }

    /// A request head was parsed: it may take as long as it needs from here.
    func headerReceived() {
        headerSince = nil
    }

    /// The response is out and the request was read: wait for the next one.
    func awaitingNextRequest() {
        waitingForRequest = true
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        if let address, !address.isEmpty { counter.release(address) }
        address = ""
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        if let address, !address.isEmpty { counter.release(address) }
        address = ""
    }
}
