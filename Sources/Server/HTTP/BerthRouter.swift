import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OCI

/// The one front door: every listener (`berth serve`, `berth auth-server`, the metrics
/// listener) is a Hummingbird router on `BerthRequestContext` with the same middlewares, and
/// each capability is a route group added to it.
package enum BerthRouter {
    package struct Settings {
        package var prefix = "/"
        package var accessLog = true
        package var extraHeaders: [(String, [String])] = []
        package var metricsPath: String?
        package var clientAddress = ClientAddressPolicy()

        package init(prefix: String = "/", accessLog: Bool = true, extraHeaders: [(String, [String])] = [], metricsPath: String? = nil,
                     clientAddress: ClientAddressPolicy = ClientAddressPolicy()) {
            self.prefix = prefix
            self.accessLog = accessLog
            self.extraHeaders = extraHeaders
            self.metricsPath = metricsPath
            self.clientAddress = clientAddress
        }
    }

    /// A router with the request id, common headers, access log and metrics, and error
    /// mapping in front of every route (unknown paths included).
    package static func make(_ settings: Settings, metrics: RegistryMetrics?, logger: Logger) -> Router<BerthRequestContext> {
        let router = Router(context: BerthRequestContext.self)
        router.add(middleware: RequestIDMiddleware(logger: logger))
        router.add(middleware: ClientAddressMiddleware(policy: settings.clientAddress))
        router.add(middleware: CommonHeadersMiddleware(extraHeaders: settings.extraHeaders))
        router.add(middleware: AccessLogMiddleware(accessLog: settings.accessLog, metrics: metrics))
        router.add(middleware: ErrorMiddleware(metrics: metrics))
        if let path = settings.metricsPath, let metrics {
            router.labelled("metrics").get(RouterPath(path)) { _, _ in await metricsResponse(metrics) }
        }
        return router
    }

    static func metricsResponse(_ metrics: RegistryMetrics) async -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: await metrics.exposition())))
    }

    /// The path below `http.prefix`, or nil when the request is outside it.
    static func relativePath(_ path: String, prefix: String) -> String? {
        let prefix = String(prefix.dropLast())
        guard path.hasPrefix(prefix + "/") || path == prefix else { return nil }
        return String(path.dropFirst(prefix.count))
    }

    /// Every method a route may be asked with, so that a wrong one on a known registry
    /// endpoint is answered 405 by the API rather than 404 by the router.
    static let allMethods: [HTTPRequest.Method] = [.get, .head, .put, .post, .patch, .delete, .options, .trace]
}

extension RouterMethods where Context == BerthRequestContext {
    /// `/livez` answers while the process serves; `/readyz` also needs `problem()` to find
    /// nothing (it returns why the server cannot do its work, e.g. the storage is full).
    /// `warnings`: what an operator must know about this server (an open registry), shown in
    /// `/readyz` whether or not it is ready.
    func addHealth(warnings: [String] = [], problem: @escaping @Sendable (Logger) async -> String?) {
        let health = labelled("health")
        health.get("livez") { _, _ in Self.health(problem: nil, warnings: []) }
        health.get("readyz") { _, context in Self.health(problem: await problem(context.logger), warnings: warnings) }
    }

    private static func health(problem: String?, warnings: [String]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        let ok = problem == nil
        var body = #"{"status":"ok""#
        if let problem { body = #"{"status":"unavailable","reason":"storage","detail":"\#(JSONString.escape(problem))""# }
        if !warnings.isEmpty {
            body += #","warnings":["# + warnings.map { #""\#(JSONString.escape($0))""# }.joined(separator: ",") + "]"
        }
        return Response(status: ok ? .ok : .serviceUnavailable, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body + "}")))
    }

    /// The Docker token protocol at `/auth` and `/auth/token` (and under docker_auth's
    /// `server.path_prefix`).
    package func addTokenEndpoint(_ endpoint: TokenEndpoint) {
        let token = labelled("token")
        for path in endpoint.paths {
            for method in [HTTPRequest.Method.get, .post] {
                token.on(RouterPath(path), method: method) { request, context in try await endpoint.respond(request, context: context) }
            }
        }
    }
}
