import HTTPTypes
import Foundation
import Hummingbird
import Logging
import Notifications
import OCI
import Storage

/// Settings of the HTTP API that come from the `http`, `catalog` and `tags` sections.
public struct APIOptions: Sendable {
    public var prefix: String = "/"
    /// `http.host`: scheme and host used in absolute Location URLs.
    public var host: String?
    public var relativeURLs = false
    public var extraHeaders: [(String, [String])] = []
    public var catalogMaxEntries = 1000
    public var tagsMaxTags = 1000
    public var accessLog = true
    public var servesTLS = false
    /// `http.trustedproxies`: peers whose forwarded headers are believed; nil: loopback and
    /// private networks.
    public var trustedProxies: [String]?
    /// Serve Prometheus metrics at this path of the main port.
    public var metricsPath: String?

    public init() {}
}

/// Translates Distribution API requests into `RegistryContent` calls and results back into
/// HTTP. One value serves every request.
public struct RegistryAPI: Sendable {
    let store: any RegistryContent
    let options: APIOptions
    let uploadState: UploadStateSigner
    let uploadLocks = KeyedLocks()
    /// Who may do what; nil: an open registry.
    let door: Door?
    let metrics: RegistryMetrics?
    let notifier: Notifier?
    /// Every receiver of the registry's events: the webhooks, the audit log.
    let eventSinks: [any EventSink]
    let logger: Logger

    package init(store: any RegistryContent, options: APIOptions, secret: [UInt8], door: Door?,
         metrics: RegistryMetrics?, notifier: Notifier? = nil, auditTrail: (any EventSink)? = nil, logger: Logger) {
        self.metrics = metrics
        self.notifier = notifier
        eventSinks = [notifier as (any EventSink)?, auditTrail].compactMap { $0 }
        self.store = store
        self.options = options
        self.uploadState = UploadStateSigner(secret: secret)
        self.door = door
        self.logger = logger
    }

    /// Answers a request that `RegistryAccessMiddleware` let through.
    func handle(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        guard let route = context.registryRoute else { throw HTTPError(.notFound) }
        let actor = context.caller.flatMap { $0.isEmpty ? nil : $0 }
        let events = eventSinks.isEmpty ? .none : requestEvents(request, context, actor: actor)
        switch route {
        case .base:
            return jsonResponse("{}")
        case .catalog:
            return try await catalog(request)
        case .tags(let name):
            return try await tags(try RepositoryName(name), request)
        case .manifest(let name, let reference):
            let repository = try RepositoryName(name)
            let reference = try manifestReference(reference, method: request.method)
            switch request.method {
            case .put: return try await putManifest(repository, reference, request, events)
            case .delete: return try await deleteManifest(repository, reference, events)
            default: return try await getManifest(repository, reference, request, events)
            }
        case .blob(let name, let digest):
            let repository = try RepositoryName(name)
            let digest = try Digest(parsing: digest)
            if request.method == .delete { return try await deleteBlob(repository, digest, events) }
            return try await getBlob(repository, digest, request, events)
        case .uploadStart(let name):
            guard let query = context.uploadStart else { throw HTTPError(.internalServerError) }
            return try await startUpload(try RepositoryName(name), query, pullRights: context.pullRights, request, events)
        case .upload(let name, let id):
            let repository = try RepositoryName(name)
            let id = try UploadID(id)
            try uploadState.verify(request.uri.queryParameters["_state"].map(String.init), repository: repository, id: id)
            switch request.method {
            case .patch:
                return try await uploadLocks.withLock(id.value) { try await patchUpload(repository, id, request) }
            case .put:
                return try await uploadLocks.withLock(id.value) { try await finishUpload(repository, id, request, events) }
            case .delete: return try await cancelUpload(repository, id)
            default: return try await uploadStatus(repository, id, request)
            }
        case .referrers(let name, let digest):
            return try await referrers(try RepositoryName(name), try Digest(parsing: digest), request)
        }
    }

    // MARK: Helpers shared by the handlers

    /// Nothing can be stored under a reference that is neither a tag nor a digest: reading or
    /// deleting one is "not found" (the spec, the conformance suites); pushing one is invalid.
    func manifestReference(_ text: String, method: HTTPRequest.Method) throws -> Reference {
        if method == .put { return try Reference(parsing: text) }
        guard let reference = try? Reference(parsing: text) else {
            throw RegistryError(.manifestUnknown, message: "manifest unknown: \(text.prefix(128)) is not a valid tag or digest")
        }
        return reference
    }

    func jsonResponse(_ body: String, status: HTTPResponse.Status = .ok, contentType: String = "application/json") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    func emptyResponse(_ status: HTTPResponse.Status, _ headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentLength] = "0"
        return Response(status: status, headers: headers, body: ResponseBody())
    }

    /// A URL for `path` (which excludes the prefix): absolute unless `http.relativeurls`.
    func url(_ path: String, _ request: Request) -> String {
        let prefixed = String(options.prefix.dropLast()) + path
        if options.relativeURLs { return prefixed }
        return baseURL(request) + prefixed
    }

    /// Scheme and host, from `http.host`, else a trusted proxy's forwarded headers (others
    /// were removed by `ClientAddressPolicy`), else the request.
    func baseURL(_ request: Request) -> String {
        if let host = options.host { return host }
        var scheme = options.servesTLS ? "https" : "http"
        var host = request.head.authority ?? "localhost"
        if let forwarded = request.headers[HTTPField.Name("Forwarded")!] {
            for element in forwarded.split(separator: ",").first?.split(separator: ";") ?? [] {
                let pair = element.split(separator: "=", maxSplits: 1).map { String($0.trimmingHTTPWhitespace()) }
                guard pair.count == 2 else { continue }
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                switch pair[0].lowercased() {
                case "proto": if value == "http" || value == "https" { scheme = value }
                case "host": if Self.isSafeHost(value) { host = value }
                default: break
                }
            }
        }
        if let proto = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.split(separator: ",").first?
            .trimmingHTTPWhitespace(), proto == "http" || proto == "https" {
            scheme = String(proto)
        }
        if let forwardedHost = request.headers[HTTPField.Name("X-Forwarded-Host")!]?.split(separator: ",").first
            .map({ String($0.trimmingHTTPWhitespace()) }), Self.isSafeHost(forwardedHost) {
            host = forwardedHost
        }
        return "\(scheme)://\(host)"
    }

    /// A host header value may only hold host[:port] characters, so it cannot inject into
    /// the URLs and headers built from it.
    static func isSafeHost(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= 255 && value.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) || ".-:[]_".unicodeScalars.contains($0)
        }
    }

    /// Parses the `n` query parameter of the paginated endpoints.
    func pageSize(_ request: Request, default defaultSize: Int?, max maxSize: Int, capSilently: Bool) throws -> Int? {
        guard let text = request.uri.queryParameters["n"] else { return defaultSize }
        guard let n = Int(text), n >= 0 else {
            throw RegistryError(.paginationNumberInvalid, message: "invalid number of results requested: n must be a non-negative integer")
        }
        if n > maxSize {
            if capSilently { return maxSize }
            throw RegistryError(.paginationNumberInvalid, message: "invalid number of results requested: n must not exceed \(maxSize)")
        }
        return n
    }

    func linkHeader(_ request: Request, last: String, n: Int) -> String {
        var components = URLComponents()
        components.queryItems = [URLQueryItem(name: "last", value: last), URLQueryItem(name: "n", value: String(n))]
        return "<\(request.uri.path)?\(components.percentEncodedQuery ?? "")>; rel=\"next\""
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()
}
