import HTTPTypes
import Hummingbird

/// The headers every response carries: Distribution's API version and `http.headers`.
struct CommonHeadersMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    let extraHeaders: [(HTTPField.Name, [String])]

    init(extraHeaders: [(String, [String])]) {
        self.extraHeaders = extraHeaders.compactMap { name, values in HTTPField.Name(name).map { ($0, values) } }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.dockerDistributionAPIVersion] = "registry/2.0"
        for (field, values) in extraHeaders {
            response.headers[field] = nil
            for value in values { response.headers.append(HTTPField(name: field, value: value)) }
        }
        return response
    }
}
