import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Delivers events to one webhook endpoint. `publish` never waits: events go to an
/// in-memory inbox, a writer moves them to the on-disk queue in batches, and a sender posts
/// the oldest batch until the endpoint takes it, backing off after `threshold` failures in
/// a row (as Distribution's retrying sink does), forever.
public final class EndpointSink: Sendable {
    public struct Settings: Sendable {
        public var name: String
        public var url: String
        public var headers: [String: [String]]
        public var timeout: TimeInterval
        public var threshold: Int
        public var backoff: TimeInterval
        public var maxBatch = 100
        /// Batches kept on disk while the endpoint is down; beyond it the oldest are dropped
        /// (Distribution would keep them in memory without a bound).
        public var maxQueuedBatches = 20_000

        public init(name: String, url: String, headers: [String: [String]] = [:], timeout: TimeInterval = 1,
                    threshold: Int = 10, backoff: TimeInterval = 1) {
            self.name = name
            self.url = url
            self.headers = headers
            self.timeout = timeout
            self.threshold = threshold
            self.backoff = backoff
        }
    }

    public let settings: Settings
    let queue: EventQueue
    let http: HTTPClient
    let logger: Logger
    let inbox = Inbox(limit: 100_000)
    let wakeSender: AsyncStream<Void>.Continuation
    let senderWakeups: AsyncStream<Void>
    let stats: DeliveryStats

    public init(settings: Settings, queue: EventQueue, http: HTTPClient, logger: Logger,
                observe: (@Sendable (_ endpoint: String, _ outcome: DeliveryOutcome) -> Void)? = nil) {
        stats = DeliveryStats(endpoint: settings.name, observe: observe)
        self.settings = settings
        self.queue = queue
        self.http = http
        self.logger = logger
        (senderWakeups, wakeSender) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func publish(_ event: Event) {
        guard !inbox.put(event) else { return }
        // Once the inbox is full every request would log: say it on the first drop and then
        // every 10,000th.
        let dropped = stats.record(.dropped)
        if dropped % 10_000 == 1 {
            logger.warning("notification events dropped: the queue to the endpoint is full", metadata: [
                "endpoint": .string(settings.name), "dropped_so_far": .stringConvertible(dropped)])
        }
    }

    /// Runs the writer and the sender until the task is cancelled; the writer then saves
    /// what is still in memory before returning.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.writeLoop() }
            group.addTask { await self.sendLoop() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Ends the inbox: the writer drains it to disk and `run` returns.
    public func finish() {
        inbox.finish()
    }

    /// Everything that arrived while the previous batch was written goes into the next
    /// one, so a burst of pulls makes a few files, not one per event.
    private func writeLoop() async {
        var written = 0
        while let events = await inbox.takeAll() {
            var start = 0
            while start < events.count {
                let batch = Array(events[start..<min(start + settings.maxBatch, events.count)])
                do {
                    try await queue.append(batch)
                    start += batch.count
                    wakeSender.yield()
                    written += 1
                    if written.isMultiple(of: 256) { await trimQueue() }
                } catch {
                    logger.error("cannot queue notifications on disk", metadata: ["endpoint": .string(settings.name), "error": .string("\(error)")])
                    try? await Task.sleep(nanoseconds: 1_000_000_000)
                }
            }
        }
    }

    private func trimQueue() async {
        guard let dropped = try? await queue.trim(toAtMost: settings.maxQueuedBatches), dropped > 0 else { return }
        for _ in 0..<dropped { stats.record(.trimmed) }
        logger.warning("notification queue full: oldest batches dropped", metadata: [
            "endpoint": .string(settings.name), "batches": .stringConvertible(dropped)])
    }

    private func sendLoop() async {
        let queue = self.queue
        var failures = 0
        var wakeups = senderWakeups.makeAsyncIterator()
        while !Task.isCancelled {
            let names = (try? await queue.pending()) ?? []
            if names.isEmpty {
                // Wait for the writer, but look again now and then (another process or a
                // restart may have left batches).
                _ = await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await Task.sleep(nanoseconds: 5_000_000_000) }
                    _ = await wakeups.next()
                    group.cancelAll()
                }
                continue
            }
            var claimedAny = false
            for name in names {
                guard !Task.isCancelled else { return }
                // Another replica sharing the storage may be delivering it.
                guard (try? await uncancelled { try await queue.claim(name) }) == true else { continue }
                claimedAny = true
                guard let batch = try? await uncancelled({ try await queue.read(name) }) else {
                    _ = try? await uncancelled { try await queue.releaseClaim(name) }
                    continue
                }
                while !Task.isCancelled {
                    if await deliver(batch) {
                        failures = 0
                        _ = try? await uncancelled { try await queue.remove(name) }
                        stats.record(.delivered)
                        break
                    }
                    failures += 1
                    stats.record(.failed)
                    _ = try? await uncancelled { try await queue.renewClaim(name) }
                    let pause = failures >= settings.threshold ? settings.backoff : min(settings.backoff, 0.05 * Double(failures))
                    try? await Task.sleep(nanoseconds: UInt64(pause * 1e9))
                }
                // Stopping with the batch undelivered: whoever runs next takes it at once.
                if Task.isCancelled { _ = try? await uncancelled { try await queue.releaseClaim(name) } }
            }
            // Every waiting batch is another replica's to deliver: look again later.
            if !claimedAny { try? await Task.sleep(nanoseconds: 1_000_000_000) }
        }
    }

    /// Queue operations run to the end even while the sender is being stopped (a cancelled
    /// task's storage calls are refused): a claim taken is always given back or removed
    /// with its batch.
    private func uncancelled<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await Task { try await operation() }.value
    }

    private func deliver(_ batch: EventQueue.Batch) async -> Bool {
        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: Event.envelopeMediaType)
        for (name, values) in settings.headers.sorted(by: { $0.key < $1.key }) {
            for value in values { request.headers.add(name: name, value: value) }
        }
        request.body = .bytes(ByteBuffer(bytes: batch.body))
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(settings.timeout * 1000)))
            _ = try? await response.body.collect(upTo: 1 << 20)
            // Distribution counts 2xx and 3xx as delivered.
            guard (200..<400).contains(response.status.code) else {
                logger.warning("notification endpoint refused events", metadata: [
                    "endpoint": .string(settings.name), "status": .stringConvertible(response.status.code)])
                stats.noteFailure("the endpoint answered HTTP \(response.status.code)")
                return false
            }
            stats.noteDelivery()
            return true
        } catch {
            if Task.isCancelled { return false }
            logger.warning("notification delivery failed", metadata: ["endpoint": .string(settings.name), "error": .string("\(error)")])
            stats.noteFailure("\(error)")
            return false
        }
    }
}

/// What happened to a batch (delivered, a failed attempt, trimmed from a full queue) or to
/// an event (dropped by a full inbox).
public enum DeliveryOutcome: String, Sendable, CaseIterable {
    case delivered, failed, dropped, trimmed
}

/// Counts outcomes per endpoint and passes each to an observer (the metrics).
public final class DeliveryStats: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [DeliveryOutcome: Int] = [:]
    private var lastFailure: (message: String, at: Date)?
    private var lastDelivery: Date?
    let endpoint: String
    let observe: (@Sendable (_ endpoint: String, _ outcome: DeliveryOutcome) -> Void)?

    init(endpoint: String, observe: (@Sendable (_ endpoint: String, _ outcome: DeliveryOutcome) -> Void)?) {
        self.endpoint = endpoint
        self.observe = observe
    }

    /// Returns the new count of `outcome`.
    @discardableResult
    func record(_ outcome: DeliveryOutcome) -> Int {
        let count = lock.withLock {
            counts[outcome, default: 0] += 1
            return counts[outcome, default: 0]
        }
        observe?(endpoint, outcome)
        return count
    }

    public func count(_ outcome: DeliveryOutcome) -> Int {
        lock.withLock { counts[outcome, default: 0] }
    }

    func noteFailure(_ message: String) {
        lock.withLock { lastFailure = (String(message.prefix(300)), Date()) }
    }

    func noteDelivery() {
        lock.withLock { lastDelivery = Date() }
    }

    /// The last failed attempt (what went wrong, when) and the last delivery, in this process.
    public var last: (failure: String?, failedAt: Date?, deliveredAt: Date?) {
        lock.withLock { (lastFailure?.message, lastFailure?.at, lastDelivery) }
    }
}

/// Events waiting for the writer. `put` never blocks; beyond `limit` events are refused.
final class Inbox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [Event] = []
    private var finished = false
    private var waiter: CheckedContinuation<Void, Never>?
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func put(_ event: Event) -> Bool {
        let (accepted, waiter): (Bool, CheckedContinuation<Void, Never>?) = lock.withLock {
            guard !finished, events.count < limit else { return (false, nil) }
            events.append(event)
            defer { self.waiter = nil }
            return (true, self.waiter)
        }
        waiter?.resume()
        return accepted
    }

    func finish() {
        let waiter: CheckedContinuation<Void, Never>? = lock.withLock {
            finished = true
            defer { self.waiter = nil }
            return self.waiter
        }
        waiter?.resume()
    }

    /// Waits for events and takes them all; nil once finished and empty.
    func takeAll() async -> [Event]? {
        while true {
            let taken: [Event]? = lock.withLock {
                if !events.isEmpty { defer { events = [] }; return events }
                return finished ? [] : nil
            }
            if let taken { return taken.isEmpty ? nil : taken }
            await withCheckedContinuation { continuation in
                let resumeNow: Bool = lock.withLock {
                    if !events.isEmpty || finished { return true }
                    waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}
