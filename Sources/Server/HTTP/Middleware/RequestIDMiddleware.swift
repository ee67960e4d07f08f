import HTTPTypes
import Hummingbird
import Logging

/// Gives the request its id (Hummingbird's, or a plain `X-Request-Id` a proxy set), puts it
/// on every log line of the request and returns it in `X-Request-Id`.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let forwarded = request.headers[.xRequestID], BerthRequestContext.acceptableRequestID(forwarded) {
            context.requestID = forwarded
        }
        var logger = self.logger
        logger[metadataKey: "request_id"] = .string(context.requestID)
        context.logger = logger
        var response = try await next(request, context)
        response.headers[.xRequestID] = context.requestID
        return response
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-Id")!
}
