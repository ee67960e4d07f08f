import HTTPTypes
import Hummingbird
import Foundation
import OCI

/// The Distribution API endpoint a request path names. Names are not validated here; a
/// path is split from the end, as the route patterns `…/{name}/manifests/{reference}`
/// are matched, so repository names may themselves contain `blobs` or `manifests`.
enum RegistryRoute: Equatable {
    case base
    case catalog
    case tags(name: String)
    case manifest(name: String, reference: String)
    case blob(name: String, digest: String)
    case uploadStart(name: String)
    case upload(name: String, id: String)
    case referrers(name: String, digest: String)

    /// `path` is the request path with any `http.prefix` removed, starting at `/v2`.
    init?(path: String) {
        guard path == "/v2" || path.hasPrefix("/v2/") else { return nil }
        // Split on the path's bytes (every registry request), each component percent-decoded as
        // Distribution's router reads the decoded path (`a%2Fb` names `a/b`).
        var components = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst(2)
            .map { PercentDecoding.decode(String(Substring($0))) }
        // A trailing slash is tolerated everywhere, as Distribution's StrictSlash router does.
        if components.last == "" { components.removeLast() }
        let n = components.count
        func name(dropping k: Int) -> String? {
            let parts = components.prefix(n - k)
            return parts.isEmpty ? nil : parts.joined(separator: "/")
        }
        if n == 0 { self = .base; return }
        if n == 1, components[0] == "_catalog" { self = .catalog; return }
        guard n >= 2 else { return nil }
        if components[n - 2] == "tags", components[n - 1] == "list", let name = name(dropping: 2) {
            self = .tags(name: name)
        } else if components[n - 2] == "blobs", components[n - 1] == "uploads", let name = name(dropping: 2) {
            self = .uploadStart(name: name)
        } else if n >= 3, components[n - 3] == "blobs", components[n - 2] == "uploads", let name = name(dropping: 3) {
            self = .upload(name: name, id: components[n - 1])
        } else if components[n - 2] == "manifests", let name = name(dropping: 2) {
            self = .manifest(name: name, reference: components[n - 1])
        } else if components[n - 2] == "blobs", let name = name(dropping: 2) {
            self = .blob(name: name, digest: components[n - 1])
        } else if components[n - 2] == "referrers", let name = name(dropping: 2) {
            self = .referrers(name: name, digest: components[n - 1])
        } else {
            return nil
        }
    }

    /// A bounded label for metrics.
    var kind: String {
        switch self {
        case .base: "base"
        case .catalog: "catalog"
        case .tags: "tags"
        case .manifest: "manifest"
        case .blob: "blob"
        case .uploadStart: "upload_start"
        case .upload: "upload"
        case .referrers: "referrers"
        }
    }

    /// Methods each endpoint answers; anything else is 405.
    var allowedMethods: [String] {
        switch self {
        case .base, .catalog, .tags, .referrers: ["GET", "HEAD"]
        case .manifest: ["GET", "HEAD", "PUT", "DELETE"]
        case .blob: ["GET", "HEAD", "DELETE"]
        case .uploadStart: ["POST"]
        case .upload: ["GET", "HEAD", "PATCH", "PUT", "DELETE"]
        }
    }
}

extension RegistryRoute {
    /// The same endpoint for another repository name.
    func renamed(_ rename: (String) -> String) -> RegistryRoute {
        switch self {
        case .base, .catalog: self
        case .tags(let name): .tags(name: rename(name))
        case .manifest(let name, let reference): .manifest(name: rename(name), reference: reference)
        case .blob(let name, let digest): .blob(name: rename(name), digest: digest)
        case .uploadStart(let name): .uploadStart(name: rename(name))
        case .upload(let name, let id): .upload(name: rename(name), id: id)
        case .referrers(let name, let digest): .referrers(name: rename(name), digest: digest)
        }
    }
}

/// First in `/v2/`: the endpoint the path names, parsed once for the access check, the
/// handlers and the metrics' label; a path that names none is 404.
struct RegistryRouteMiddleware: RouterMiddleware {
    typealias Context = BerthRequestContext
    /// `http.prefix`, removed before parsing.
    let prefix: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let relative = BerthRouter.relativePath(request.uri.path, prefix: prefix), let route = RegistryRoute(path: relative) else {
            throw HTTPError(.notFound)
        }
        var context = context
        context.registryRoute = route
        context.routeLabel?.set(route.kind)
        return try await next(request, context)
    }
}
