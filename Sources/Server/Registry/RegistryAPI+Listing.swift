import HTTPTypes
import Foundation
import Hummingbird
import OCI
import Storage

extension RegistryAPI {
    func catalog(_ request: Request) async throws -> Response {
        let n = try pageSize(request, default: 100, max: options.catalogMaxEntries, capSilently: false) ?? 100
        let last = request.uri.queryParameters["last"].map(String.init)
        let page = n == 0 ? (names: [String](), more: false) : try await store.catalog(after: last, limit: n)
        let body = try String(decoding: Self.encoder.encode(["repositories": page.names]), as: UTF8.self)
        var response = jsonResponse(body)
        if page.more, let lastName = page.names.last {
            response.headers[.link] = linkHeader(request, last: lastName, n: n)
        }
        // Which names are mirrors, for `berth ls --long` (prefixes only, not the upstreams).
        let prefixes = store.mirroredPrefixes
        if !prefixes.isEmpty {
            response.headers[.berthMirrorPrefixes] = prefixes.map { $0.isEmpty ? "*" : $0 }.joined(separator: ", ")
        }
        return response
    }

    func tags(_ repository: RepositoryName, _ request: Request) async throws -> Response {
        let n = try pageSize(request, default: nil, max: options.tagsMaxTags, capSilently: true)
        var tags = try await store.tags(repository)
        if let last = request.uri.queryParameters["last"].map(String.init) {
            tags = Array(tags.drop { $0 <= last })
        }
        var more = false
        if let n, tags.count > n {
            tags = Array(tags.prefix(n))
            more = true
        }
        struct Body: Encodable { var name: String; var tags: [String] }
        let body = try String(decoding: Self.encoder.encode(Body(name: repository.value, tags: tags)), as: UTF8.self)
        var response = jsonResponse(body)
        if more, let n, let lastTag = tags.last {
            response.headers[.link] = linkHeader(request, last: lastTag, n: n)
        }
        return response
    }

    func referrers(_ repository: RepositoryName, _ subject: Digest, _ request: Request) async throws -> Response {
        let artifactType = request.uri.queryParameters["artifactType"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let descriptors = try await store.referrers(repository, subject: subject, artifactType: artifactType)
        let body = try String(decoding: Self.encoder.encode(ImageIndex(manifests: descriptors)), as: UTF8.self)
        var response = jsonResponse(body, contentType: MediaType.ociIndex)
        if artifactType != nil { response.headers[.ociFiltersApplied] = "artifactType" }
        return response
    }
}
