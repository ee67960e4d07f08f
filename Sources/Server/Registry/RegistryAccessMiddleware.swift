import HTTPTypes
import Hummingbird
import OCI

/// In front of `/v2/`: a wrong method is 405 with `Allow`; otherwise the registry's door
/// (bearer tokens or Basic auth) must admit the request for what it needs, and the caller
/// it found is put on the context. An upload start's query is parsed here, once,
/// and the handler mounts from the very repository that was checked.
struct RegistryAccessMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    let api: RegistryAPI

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let route = context.registryRoute else { throw HTTPError(.notFound) }
        let method = request.method.rawValue
        guard route.allowedMethods.contains(method) else {
            var response = RegistryError(.unsupported, message: "method \(method) not allowed on this endpoint", status: 405).response
            response.headers[.allow] = route.allowedMethods.joined(separator: ", ")
            return response
        }
        var context = context
        if case .uploadStart = route { context.uploadStart = try UploadStartQuery(request.uri.queryParameters) }
        if let door = api.door {
            let required = route.requiredAccess(method: request.method, mountSource: context.uploadStart?.mountSource)
            let caller = try await door.admit(request, context, required: required, realmBase: api.url("", request))
            context.caller = caller.account
            context.pullRights = door.gate.pullRights(caller, address: context.clientAddress)
        } else {
            context.pullRights = .everything
        }
        return try await next(request, context)
    }
}
