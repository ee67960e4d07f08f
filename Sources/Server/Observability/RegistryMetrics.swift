import Prometheus
import Synchronization

/// The registry's Prometheus metrics. Labels are bounded (route kinds, methods, status
/// codes): never repository names, which are unbounded.
public final class RegistryMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let bytesIn: Counter
    private let bytesOut: Counter
    private let uploadsInProgress: Gauge
    private let storageErrors: Counter
    private let auditNotItemised: Counter
    /// Figures read when scraped rather than counted as they happen (a namespace's usage).
    private let collectors = Mutex<[@Sendable (RegistryMetrics) async -> Void]>([])
    static let latencyBuckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                             .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                             .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60)]

    static var requests: MetricNameDescriptor { name("http_requests", "total", "HTTP requests by route kind, method and status.") }
    static var durations: MetricNameDescriptor { name("http_request_duration", "seconds", "Time to the response head, by route kind and method.") }
    static var notifications: MetricNameDescriptor { name("notification_outcomes", "total", "Webhook outcomes by endpoint: batches delivered, failed (attempts) or trimmed from a full queue; events dropped by a full inbox.") }
    static var tokens: MetricNameDescriptor { name("token_requests", "total", "Token requests by result: issued, unauthorized, throttled, bad_request.") }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "berth", metricName: metric, unitName: unit, helpText: help)
    }

    public init() {
        bytesIn = registry.makeCounter(descriptor: Self.name("http_request_body", "bytes_total", "Bytes received in request bodies."))
        bytesOut = registry.makeCounter(descriptor: Self.name("http_response_body", "bytes_total", "Bytes announced in response bodies."))
        uploadsInProgress = registry.makeGauge(descriptor: Self.name("uploads_in_progress", "", "Upload request bodies being received."))
        storageErrors = registry.makeCounter(descriptor: Self.name("storage_errors", "total", "Storage operations that failed."))
        auditNotItemised = registry.makeCounter(descriptor: Self.name(
            "audit_refused_logins_not_itemised", "total", "Refused logins only counted in the audit log: more distinct ones in a minute than it itemises (a flood)."))
    }

    func request(route: String, method: String, status: Int, duration: Duration, responseBytes: Int?) {
        registry.makeCounter(descriptor: Self.requests, labels: [("route", route), ("method", method), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.durations, labels: [("route", route), ("method", method)],
                                       buckets: Self.latencyBuckets).record(duration)
        if let responseBytes { bytesOut.increment(by: Int64(responseBytes)) }
    }

    func received(_ bytes: Int) { bytesIn.increment(by: Int64(bytes)) }
    func uploadStarted() { uploadsInProgress.increment() }
    func uploadFinished() { uploadsInProgress.decrement() }
    func storageError() { storageErrors.increment() }
    package func auditRefusalsNotItemised(_ count: Int) { auditNotItemised.increment(by: Int64(count)) }
    func tokenRequest(result: String) { registry.makeCounter(descriptor: Self.tokens, labels: [("result", result)]).increment() }

    package func notification(endpoint: String, result: String) {
        registry.makeCounter(descriptor: Self.notifications, labels: [("endpoint", endpoint), ("result", result)]).increment()
    }

    public func exposition() async -> [UInt8] {
        for collect in collectors.withLock({ $0 }) { await collect(self) }
        return registry.emitToBuffer()
    }

    package func addCollector(_ collect: @escaping @Sendable (RegistryMetrics) async -> Void) { collectors.withLock { $0.append(collect) } }

    /// A namespace's quota and usage (labels bounded by the quotas an administrator sets).
    package func namespaceQuota(_ namespace: String, limit: Int64, used: Int64?) {
        registry.makeGauge(descriptor: Self.quotaLimit, labels: [("namespace", namespace)]).set(limit)
        if let used { registry.makeGauge(descriptor: Self.quotaUsed, labels: [("namespace", namespace)]).set(used) }
    }

    static var quotaLimit: MetricNameDescriptor { name("namespace_quota", "bytes", "The quota of a namespace (berth policy quota).") }
    static var quotaUsed: MetricNameDescriptor { name("namespace_used", "bytes", "The bytes a namespace with a quota stores (its distinct blobs).") }
}
