import HTTPTypes
import Hummingbird
import OCI

/// In front of `/v2/`: a wrong method is 405 with `Allow`; otherwise the configured
/// authorizer (bearer tokens or Basic auth) must grant what the request needs, and the
/// caller it found is put on the context. An upload start's query is parsed here, once,
/// and the handler mounts from the very repository that was checked.
struct RegistryAccessMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    let api: RegistryAPI

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard case .registry(let route) = context.kind else { throw HTTPError(.notFound) }
        let method = request.method.rawValue
        guard route.allowedMethods.contains(method) else {
            var response = RegistryError(.unsupported, message: "method \(method) not allowed on this endpoint", status: 405).response
            response.headers[.allow] = route.allowedMethods.joined(separator: ", ")
            return response
        }
        var context = context
        if case .uploadStart = route { context.uploadStart = try UploadStartQuery(request.uri.queryParameters) }
        if let authorizer = api.authorizer {
            let required = route.requiredAccess(method: request.method, mountSource: context.uploadStart?.mountSource)
            switch await authorizer.authorize(request, context, required: required, realmBase: api.url("", request)) {
            case .challenge(let response): return response
            case .allowed(let subject, let pulls):
                context.caller = subject
                context.pullRights = pulls
            }
        } else {
            context.pullRights = .everything
        }
        return try await next(request, context)
    }
}
