import Hummingbird

/// containerd, configured with Berth as a mirror of `docker.io`, asks
/// `/v2/library/alpine/manifests/latest?ns=docker.io`: the repository it means is the one
/// mirrored under that upstream's prefix, `docker.io/library/alpine`. Renamed before access
/// control, so the policy judges the name that is served.
struct MirrorNamespaceMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    /// `ns` value → repository prefix.
    let prefixes: [String: String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let route = context.registryRoute, let namespace = request.uri.queryParameters["ns"],
              let prefix = prefixes[String(namespace).lowercased()] else {
            return try await next(request, context)
        }
        var context = context
        context.registryRoute = route.renamed { "\(prefix)/\($0)" }
        return try await next(request, context)
    }
}
