import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Distribution's debug listener (`http.debug.addr`): Prometheus metrics and health on a
/// separate address, typically only reachable from the monitoring network.
package enum MetricsServer {
    package static func make(address: String, path: String, metrics: RegistryMetrics, logger: Logger) throws -> any Service {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw HTTPError(.internalServerError, message: "http.debug.addr: expected HOST:PORT, got \(address)")
        }
        let host = address[..<colon].isEmpty ? "0.0.0.0" : String(address[..<colon])
        var settings = BerthRouter.Settings()
        settings.accessLog = false
        let router = BerthRouter.make(settings, metrics: nil, logger: logger)
        router.get(RouterPath(path)) { _, _ in await BerthRouter.metricsResponse(metrics) }
        for health in ["/debug/health", "/livez"] {
            router.get(RouterPath(health)) { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
            }
        }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: logger)
    }
}
