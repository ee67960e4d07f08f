import HTTPTypes
import Foundation
import Hummingbird
import Synchronization

/// Writes the access log line and the request metrics of each response, labelled by the
/// route group that answered it (`RouteLabelMiddleware`).
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    let accessLog: Bool
    let metrics: RegistryMetrics?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        let route = RouteLabel()
        context.routeLabel = route
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        metrics?.request(route: route.value, method: request.method.rawValue, status: response.status.code, duration: elapsed,
                         responseBytes: request.method == .head ? 0 : response.headers[.contentLength].flatMap(Int.init))
        if accessLog {
            context.logger.info("request", metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
                "duration_ms": .string(String(format: "%.2f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)),
                "remote": .string(context.remoteAddress?.ipAddress ?? "-"),
            ])
        }
        return response
    }
}

/// What a request addressed, for the access log and metrics: a bounded label (never a
/// repository name) the route group that answers it sets; "other" when none did (an unknown
/// path). Shared by reference, as the context travels inward by value.
final class RouteLabel: Sendable {
    private let label = Mutex("other")

    var value: String { label.withLock { $0 } }

    func set(_ value: String) { label.withLock { $0 = value } }
}

/// Labels the requests of a route group.
struct RouteLabelMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    let label: String

    init(_ label: String) { self.label = label }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        context.routeLabel?.set(label)
        return try await next(request, context)
    }
}

extension RouterMethods where Context == BerthRequestContext {
    /// A group of these routes whose requests the access log and metrics call `label`.
    func labelled(_ label: String) -> RouterGroup<BerthRequestContext> {
        group().add(middleware: RouteLabelMiddleware(label))
    }
}
