import HTTPTypes
import Foundation
import Hummingbird

/// Classifies the request once (what it addresses, for metrics and the handlers), then
/// writes the access log line and the request metrics of its response.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    let accessLog: Bool
    let metrics: RegistryMetrics?
    let classify: @Sendable (String) -> RequestKind

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        context.kind = classify(request.uri.path)
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        metrics?.request(route: context.kind.label, method: request.method.rawValue, status: response.status.code, duration: elapsed,
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

/// What a request addresses, decided once from its path.
enum RequestKind: Sendable {
    case other, health, metrics, token, admin, webUI
    case registry(RegistryRoute)

    /// The metrics label (never a repository name).
    var label: String {
        switch self {
        case .other: "other"
        case .health: "health"
        case .metrics: "metrics"
        case .token: "token"
        case .admin: "admin"
        case .webUI: "web_ui"
        case .registry(let route): route.kind
        }
    }
}
