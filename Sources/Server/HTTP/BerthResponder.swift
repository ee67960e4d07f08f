import HTTPTypes
import Foundation
import Hummingbird
import Logging
import OCI
import Storage

/// The outermost responder: strips `http.prefix`, dispatches to the registry API, turns
/// every error into the spec's JSON format, adds the headers every response carries, and
/// writes the access log.
struct BerthResponder: HTTPResponder {
    typealias Context = BerthRequestContext
    let api: RegistryAPI
    let tokenEndpoint: TokenEndpoint?
    let logger: Logger

    func respond(to request: Request, context: BerthRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        if let forwarded = request.headers[.xRequestID], BerthRequestContext.acceptableRequestID(forwarded) {
            context.requestID = forwarded
        }
        var logger = self.logger
        logger[metadataKey: "request_id"] = .string(context.requestID)
        context.logger = logger
        let target = target(request)
        var response = await dispatch(request, context, to: target, logger: logger)
        response.headers[.xRequestID] = context.requestID
        if let metrics = api.metrics {
            metrics.request(route: target.kind, method: request.method.rawValue, status: response.status.code,
                            duration: ContinuousClock.now - started,
                            responseBytes: request.method == .head ? 0 : response.headers[.contentLength].flatMap(Int.init))
        }
        response.headers[.dockerDistributionAPIVersion] = "registry/2.0"
        for (name, values) in api.options.extraHeaders {
            guard let field = HTTPField.Name(name) else { continue }
            response.headers[field] = nil
            for value in values { response.headers.append(HTTPField(name: field, value: value)) }
        }
        if api.options.accessLog {
            let elapsed = ContinuousClock.now - started
            logger.info("request", metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
                "duration_ms": .string(String(format: "%.2f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)),
                "remote": .string(context.remoteAddress?.ipAddress ?? "-"),
            ])
        }
        return response
    }

    /// Load balancer probes, without authentication: `/livez` answers while the process
    /// serves; `/readyz` also needs the storage to answer.
    private func health(ready: Bool, logger: Logger) async -> Response {
        var status = HTTPResponse.Status.ok
        var body = #"{"status":"ok"}"#
        if ready {
            do {
                try await api.store.checkReadable()
            } catch {
                logger.error("readiness check failed", metadata: ["error": .string(String(describing: error))])
                status = .serviceUnavailable
                body = #"{"status":"unavailable","reason":"storage"}"#
            }
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// What a request path addresses, decided once per request.
    private enum Target {
        case metrics, health(ready: Bool), token, registry(RegistryRoute), unknown(String)

        var kind: String {
            switch self {
            case .metrics: "metrics"
            case .health: "health"
            case .token: "token"
            case .registry(let route): route.kind
            case .unknown: "other"
            }
        }
    }

    private func target(_ request: Request) -> Target {
        if let metricsPath = api.options.metricsPath, api.metrics != nil, request.uri.path == metricsPath { return .metrics }
        let prefix = String(api.options.prefix.dropLast())
        var path = request.uri.path
        guard path.hasPrefix(prefix + "/") || path == prefix else { return .unknown("not found") }
        path = String(path.dropFirst(prefix.count))
        if path == "/livez" || path == "/readyz" { return .health(ready: path == "/readyz") }
        if let tokenEndpoint, tokenEndpoint.serves(path) { return .token }
        guard let route = RegistryRoute(path: path) else { return .unknown("unknown API endpoint") }
        return .registry(route)
    }

    /// `logger` carries the request id, so every line about this request names it.
    private func dispatch(_ request: Request, _ context: BerthRequestContext, to target: Target, logger: Logger) async -> Response {
        let route: RegistryRoute
        switch target {
        case .metrics:
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: api.metrics?.exposition() ?? [])))
        case .health(let ready):
            return await health(ready: ready, logger: logger)
        case .token:
            return await tokenEndpoint?.respond(request, context: context) ?? RegistryError(.unsupported, status: 404).response
        case .unknown(let message):
            return RegistryError(.unsupported, message: message, status: 404).response
        case .registry(let r):
            route = r
        }
        do {
            return try await api.handle(route, request, context)
        } catch let error as RegistryError {
            return error.response
        } catch let error as StorageError {
            switch error {
            case .notFound:
                return RegistryError(.blobUnknown, message: "content not found").response
            case .invalidPath:
                return RegistryError(.nameInvalid, message: "invalid path").response
            case .invalidOffset(_, let actual):
                return RegistryError(.rangeInvalid, message: "invalid content range: upload is at offset \(actual)").response
            case .io:
                api.metrics?.storageError()
                logger.error("storage failure", metadata: ["error": .string(error.description)])
                return RegistryError(.unknown, message: "storage error").response
            }
        } catch let error as ClientDisconnected {
            // The response will not reach anyone; 499 in the access log says what happened.
            logger.info("client disconnected during the request body", metadata: ["error": .string(error.underlying)])
            return RegistryError(.blobUploadInvalid, message: "request body incomplete", status: 499).response
        } catch let error as HTTPError {
            return RegistryError(.unknown, message: error.body ?? "request failed", status: Int(error.status.code)).response
        } catch {
            logger.error("request failed", metadata: ["error": .string(String(describing: error))])
            return RegistryError(.unknown, message: "request failed").response
        }
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-Id")!
}
