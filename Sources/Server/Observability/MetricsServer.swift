import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Distribution's debug listener (`http.debug.addr`): Prometheus metrics and health on a
/// separate address, typically only reachable from the monitoring network.
enum MetricsServer {
    struct Responder: HTTPResponder {
        typealias Context = BerthRequestContext
        let path: String
        let metrics: RegistryMetrics

        func respond(to request: Request, context: BerthRequestContext) async throws -> Response {
            switch request.uri.path {
            case path:
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
            case "/debug/health", "/livez":
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
            default:
                return Response(status: .notFound)
            }
        }
    }

    static func make(address: String, path: String, metrics: RegistryMetrics, logger: Logger) throws -> any Service {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw HTTPError(.internalServerError, message: "http.debug.addr: expected HOST:PORT, got \(address)")
        }
        let host = address[..<colon].isEmpty ? "0.0.0.0" : String(address[..<colon])
        return Application(responder: Responder(path: path, metrics: metrics),
                           configuration: .init(address: .hostname(host, port: port)), logger: logger)
    }
}
