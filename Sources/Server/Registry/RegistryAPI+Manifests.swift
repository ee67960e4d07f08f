import HTTPTypes
import Hummingbird
import Notifications
import OCI
import Storage

extension RegistryAPI {
    func getManifest(_ repository: RepositoryName, _ reference: Reference, _ request: Request,
                     _ events: RequestEvents) async throws -> Response {
        var manifest = request.method == .head ? try await store.manifestHead(repository, reference) : try await store.manifest(repository, reference)
        // Split on bytes: clients send several media types on every manifest request.
        let accepted = request.headers[values: .accept].flatMap { $0.utf8.split(separator: UInt8(ascii: ",")) }
            .map { MediaType.essence(String(Substring($0))) }
        // As Distribution: a client that cannot read manifest lists, asking by tag, gets the
        // linux/amd64 image of the list.
        if !Self.accepts(accepted, manifest.mediaType), manifest.mediaType == MediaType.dockerManifestList, reference.tag != nil,
           let child = try await store.platformManifest(repository, of: manifest, os: "linux", architecture: "amd64"),
           Self.accepts(accepted, child.mediaType) {
            manifest = child
        }
        if !Self.accepts(accepted, manifest.mediaType) {
            throw RegistryError(.manifestUnknown,
                                message: "manifest of type \(manifest.mediaType) found, but the Accept header does not allow it",
                                detailJSON: RegistryError.detail(["name": repository.value, "reference": reference.description]))
        }
        var headers = HTTPFields()
        headers[.contentType] = manifest.mediaType
        headers[.dockerContentDigest] = manifest.digest.description
        headers[.eTag] = "\"\(manifest.digest)\""
        headers[.contentLength] = String(manifest.bytes.count)
        if let match = request.headers[.ifNoneMatch], ETag.matches(match, manifest.digest) {
            headers[.contentLength] = "0"
            return Response(status: .notModified, headers: headers, body: ResponseBody())
        }
        if request.method == .head {
            return Response(status: .ok, headers: headers, body: ResponseBody())
        }
        events.emit(.pull, mediaType: manifest.mediaType, manifestTarget(repository, digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size,
                                          tag: reference.tag, manifest: events.includeReferences ? try? Manifest(parsing: manifest.bytes, contentType: manifest.mediaType) : nil,
                                          request, events))
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: manifest.bytes)))
    }

    /// Distribution's negotiation, made lenient where it helps clients: no Accept header,
    /// or a wildcard, takes whatever is stored.
    static func accepts(_ accepted: [String], _ mediaType: String) -> Bool {
        if accepted.isEmpty { return true }
        return accepted.contains { $0 == mediaType || $0 == "*/*" || $0 == "application/*" || $0 == "application/json" }
    }

    func putManifest(_ repository: RepositoryName, _ reference: Reference, _ request: Request,
                     _ events: RequestEvents) async throws -> Response {
        let limit = store.options.maxManifestSize
        let tooLarge = RegistryError(.manifestInvalid, message: "manifest too large: limit is \(limit) bytes", status: 413)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw tooLarge }
        var bytes: [UInt8] = []
        for try await chunk in request.bodyStream(metrics) {
            guard bytes.count + chunk.readableBytes <= limit else { throw tooLarge }
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        let tags = try Self.tagParameters(request)
        let result = try await store.putManifest(repository, reference, bytes: bytes,
                                                 contentType: request.headers[.contentType], tags: tags)
        var headers: HTTPFields = [
            .location: url("/v2/\(repository)/manifests/\(result.digest)", request),
            .dockerContentDigest: result.digest.description,
        ]
        if let subject = result.subject { headers[.ociSubject] = subject.description }
        if !tags.isEmpty { headers[.ociTag] = tags.map(\.value).joined(separator: ", ") }
        // One push event per tag the manifest got (Distribution's events name one tag each).
        var pushedTags: [Tag?] = [reference.tag].compactMap { $0 } + tags.filter { $0 != reference.tag }
        if pushedTags.isEmpty { pushedTags = [nil] }
        for tag in pushedTags {
            events.emit(.push, mediaType: result.manifest.mediaType, manifestTarget(repository, digest: result.digest, mediaType: result.manifest.mediaType, size: result.size,
                                              tag: tag, manifest: result.manifest, request, events))
        }
        return emptyResponse(.created, headers)
    }

    /// The spec's `?tag=` parameters of a push (by digest, usually): each one validated, so
    /// that one bad tag refuses the push before anything is stored.
    static func tagParameters(_ request: Request) throws -> [Tag] {
        let values = request.uri.queryParameters.getAll("tag")
        guard values.count <= maxTagParameters else {
            throw RegistryError(.tagInvalid, message: "at most \(maxTagParameters) tag parameters per push", status: 414)
        }
        var seen: Set<String> = []
        return try values.filter { seen.insert($0).inserted }.map { try Tag($0) }
    }

    static let maxTagParameters = 100

    func deleteManifest(_ repository: RepositoryName, _ reference: Reference, _ events: RequestEvents) async throws -> Response {
        // Distribution's delete events carry the digest; a tag delete names the tag too.
        var digest = reference.digest
        if case .tag(let tag) = reference, events.wanted { digest = try await store.resolveTag(repository, tag) }
        try await store.deleteManifest(repository, reference)
        if let digest {
            events.emit(.delete, mediaType: nil, Event.Target(digest: digest.description, repository: repository.value, tag: reference.tag?.value))
        }
        return emptyResponse(.accepted)
    }
}
