import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import Storage

/// Fans registry events out to the configured webhook endpoints, applying each endpoint's
/// ignore rules. A service: on graceful shutdown it stops sending and saves every event
/// still in memory to the on-disk queues.
/// Where the registry's events go: webhooks (`Notifier`), the audit log, …
public protocol EventSink: Sendable {
    /// Whether events of this kind, about content of this media type (nil: unknown, as for
    /// a delete), are of interest at all: every pull asks, so an event is only built when
    /// some sink wants it.
    func wants(_ action: Event.Action, mediaType: String?) -> Bool
    func publish(_ action: Event.Action, _ target: Event.Target, request: Event.Request, actor: String?)
}

public final class Notifier: Service, EventSink, Sendable {
    public struct Endpoint: Sendable {
        public var settings: EndpointSink.Settings
        public var ignoredMediaTypes: Set<String>
        public var ignoredActions: Set<Event.Action>

        public init(settings: EndpointSink.Settings, ignoredMediaTypes: [String] = [], ignoredActions: [String] = []) {
            self.settings = settings
            self.ignoredMediaTypes = Set(ignoredMediaTypes)
            self.ignoredActions = Set(ignoredActions.compactMap(Event.Action.init(rawValue:)))
        }
    }

    let sinks: [(endpoint: Endpoint, sink: EndpointSink)]
    let http: HTTPClient
    public let source: Event.Source
    public let includeReferences: Bool
    let logger: Logger

    public init(endpoints: [Endpoint], driver: any StorageDriver, sourceAddress: String,
                includeReferences: Bool = false, logger: Logger,
                observe: (@Sendable (_ endpoint: String, _ outcome: DeliveryOutcome) -> Void)? = nil) throws {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(5))
        // The endpoint sink counts failures and backs off itself.
        configuration.connectionPool.retryConnectionEstablishment = false
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.http = http
        sinks = try endpoints.map { endpoint in
            (endpoint, EndpointSink(settings: endpoint.settings, queue: try EventQueue(driver: driver, endpoint: endpoint.settings.name),
                                    http: http, logger: logger, observe: observe))
        }
        source = Event.Source(addr: sourceAddress, instanceID: UUID().uuidString.lowercased())
        self.includeReferences = includeReferences
        self.logger = logger
    }

    public func wants(_ action: Event.Action, mediaType: String?) -> Bool {
        sinks.contains { endpoint, _ in
            !endpoint.ignoredActions.contains(action) && !(mediaType.map(endpoint.ignoredMediaTypes.contains) ?? false)
        }
    }

    public func publish(_ action: Event.Action, _ target: Event.Target, request: Event.Request, actor: String?) {
        let receivers = sinks.filter { endpoint, _ in
            !endpoint.ignoredActions.contains(action) && !(target.mediaType.map(endpoint.ignoredMediaTypes.contains) ?? false)
        }
        // Every pull passes here: build the event only when some endpoint wants it.
        guard !receivers.isEmpty else { return }
        let event = Event(action: action, target: target, request: request, actor: Event.Actor(name: actor), source: source)
        for (_, sink) in receivers { sink.publish(event) }
    }

    /// What an administrator needs to see of one endpoint.
    public struct EndpointState: Sendable {
        public var name: String
        /// Scheme, host and path: a query string may hold a credential.
        public var url: String
        public var queuedBatches: Int?
        public var delivered: Int
        public var failedAttempts: Int
        public var dropped: Int
        public var trimmed: Int
        public var lastFailure: String?
        public var lastFailureAt: Date?
        public var lastDeliveryAt: Date?
    }

    public func endpointStates() async -> [EndpointState] {
        var states: [EndpointState] = []
        for (endpoint, sink) in sinks {
            let stats = sink.stats, last = stats.last
            var url = endpoint.settings.url
            if var components = URLComponents(string: url) {
                components.query = nil
                components.user = nil
                components.password = nil
                url = components.string ?? url
            }
            states.append(EndpointState(
                name: endpoint.settings.name, url: url, queuedBatches: try? await sink.queue.count(),
                delivered: stats.count(.delivered), failedAttempts: stats.count(.failed), dropped: stats.count(.dropped),
                trimmed: stats.count(.trimmed), lastFailure: last.failure, lastFailureAt: last.failedAt, lastDeliveryAt: last.deliveredAt))
        }
        return states
    }

    /// Delivery counts by endpoint name.
    public var stats: [String: DeliveryStats] {
        Dictionary(uniqueKeysWithValues: sinks.map { ($0.endpoint.settings.name, $0.sink.stats) })
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for (_, sink) in sinks { group.addTask { await sink.run() } }
            }
        } onGracefulShutdown: {
            for (_, sink) in self.sinks { sink.finish() }
        }
        try await http.shutdown()
    }
}
