import HTTPTypes
import Accounts
import Auth
import Hummingbird
import NIOCore
import OCI
import Storage

/// The one place errors become HTTP: everything a handler throws is answered in the
/// spec's JSON error format with its status, and storage failures are logged and counted.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    let metrics: RegistryMetrics?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return response(for: error, context: context)
        }
    }

    func response(for error: any Error, context: Context) -> Response {
        switch error {
        case let error as RegistryError:
            return error.response
        case let challenge as AuthenticationChallenge:
            var response = challenge.error.response
            if let value = challenge.wwwAuthenticate { response.headers[.wwwAuthenticate] = value }
            return response
        case let error as any RegistryErrorConvertible:
            return error.registryError.response
        case let error as StorageError:
            switch error {
            case .notFound:
                return RegistryError(.blobUnknown, message: "content not found").response
            case .invalidPath:
                return RegistryError(.nameInvalid, message: "invalid path").response
            case .invalidOffset(_, let actual):
                return RegistryError(.rangeInvalid, message: "invalid content range: upload is at offset \(actual)").response
            case .io, .unavailable, .readOnly, .full:
                // The storage's own failures: counted and logged, the client told in words.
                metrics?.storageError()
                context.logger.error("storage failure", metadata: ["error": .string(error.description)])
                return switch error {
                case .unavailable: RegistryError(.unavailable, message: "storage unavailable, try again later").response
                case .readOnly: RegistryError(.unavailable, message: "the registry's storage is read-only; nothing can be pushed or deleted until an operator fixes it").response
                case .full: RegistryError(.unavailable, message: "the registry's storage is full; nothing can be pushed until an operator frees space", status: 507).response
                default: RegistryError(.unknown, message: "storage error").response
                }
            }
        case let error as AccountError:
            let (code, status): (String, Int) = switch error {
            case .invalid: ("INVALID", 400)
            case .notFound: ("NOT_FOUND", 404)
            case .conflict: ("CONFLICT", 409)
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(
                string: #"{"errors":[{"code":"\#(code)","message":"\#(JSONString.escape(error.description))"}]}"#)))
        case let error as AuthError:
            if case .tooManyRequests(let seconds) = error { return RegistryError.throttled(retryAfter: seconds) }
            if case .unavailable = error {
                context.logger.error("identity or access backend failed", metadata: ["error": .string(error.description)])
                return RegistryError(.unavailable, message: "identity or access backend unavailable, try again later").response
            }
            return RegistryError(.unsupported, message: error.description, status: 400).response
        case let error as ClientDisconnected:
            // The response will not reach anyone; 499 in the access log says what happened.
            context.logger.info("client disconnected during the request body", metadata: ["error": .string(error.underlying)])
            return RegistryError(.blobUploadInvalid, message: "request body incomplete", status: 499).response
        case let error as MalformedRequestBody:
            context.logger.info("malformed request body", metadata: ["error": .string(error.reason)])
            var response = RegistryError(.blobUploadInvalid, message: "malformed request body (\(error.reason))", status: 400).response
            // The parser cannot find the next request in what follows.
            response.headers[.connection] = "close"
            return response
        case is NIOTooManyBytesError:
            // A handler that collects a body (admin API, web forms) got more than its limit.
            var response = RegistryError(.sizeInvalid, message: "request body too large", status: 413).response
            response.headers[.connection] = "close"
            return response
        case let error as HTTPError where error.status == .notFound:
            return RegistryError(.unsupported, message: "unknown API endpoint", status: 404).response
        case let error as HTTPError:
            return RegistryError(.unknown, message: error.body ?? "request failed", status: Int(error.status.code)).response
        default:
            context.logger.error("request failed", metadata: ["error": .string(String(describing: error))])
            return RegistryError(.unknown, message: "request failed").response
        }
    }
}
