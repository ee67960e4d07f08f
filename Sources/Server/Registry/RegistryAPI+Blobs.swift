import HTTPTypes
import Hummingbird
import Notifications
import OCI
import Storage

extension RegistryAPI {
    func getBlob(_ repository: RepositoryName, _ digest: Digest, _ request: Request, _ events: RequestEvents) async throws -> Response {
        let size = try await store.blobSize(repository, digest)
        var headers = HTTPFields()
        headers[.eTag] = "\"\(digest)\""
        headers[.dockerContentDigest] = digest.description
        headers[.cacheControl] = "max-age=31536000"
        headers[.acceptRanges] = "bytes"
        headers[.contentType] = MediaType.octetStream
        if let match = request.headers[.ifNoneMatch], ETag.matches(match, digest) {
            return emptyResponse(.notModified, headers)
        }
        let range: Range<Int64>?
        var status = HTTPResponse.Status.ok
        switch ByteRange(header: request.headers[.range], size: size) {
        case .full:
            range = nil
        case .partial(let r):
            range = r
            status = .partialContent
            headers[.contentRange] = "bytes \(r.lowerBound)-\(r.upperBound - 1)/\(size)"
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            var response = RegistryError(.rangeInvalid, message: "requested range not satisfiable", status: 416).response
            response.headers.append(contentsOf: headers.filter { $0.name != .contentType })
            return response
        }
        let length = range.map { $0.upperBound - $0.lowerBound } ?? size
        headers[.contentLength] = String(length)
        if request.method == .head {
            return Response(status: status, headers: headers, body: ResponseBody())
        }
        events.emit(.pull, mediaType: Event.layerMediaType, blobTarget(repository, digest, size: size, mediaType: Event.layerMediaType, request))
        // The client fetches the bytes (and its Range) from the storage itself.
        if let url = try await store.blobRedirectURL(repository, digest) {
            return emptyResponse(.temporaryRedirect, [.location: url, .dockerContentDigest: digest.description])
        }
        try await store.prepareBlobRead(repository, digest)
        let store = self.store
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: Int(length)) { writer in
            try await store.readBlobBuffers(repository, digest, range: range) { buffers in try await writer.write(contentsOf: buffers) }
            try await writer.finish(nil)
        })
    }

    func deleteBlob(_ repository: RepositoryName, _ digest: Digest, _ events: RequestEvents) async throws -> Response {
        try await store.deleteBlob(repository, digest)
        events.emit(.delete, mediaType: nil, Event.Target(digest: digest.description, repository: repository.value))
        return emptyResponse(.accepted, [.dockerContentDigest: digest.description])
    }
}

enum ETag {
    /// `If-None-Match` holding the digest, quoted or not, or `*`.
    static func matches(_ header: String, _ digest: Digest) -> Bool {
        header.split(separator: ",").contains { candidate in
            var value = String(candidate.trimmingHTTPWhitespace())
            if value.hasPrefix("W/") { value.removeFirst(2) }
            if value == "*" { return true }
            return value.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) == digest.description
        }
    }
}

extension HTTPField.Name {
    static let dockerContentDigest = HTTPField.Name("Docker-Content-Digest")!
    static let dockerUploadUUID = HTTPField.Name("Docker-Upload-UUID")!
    static let dockerDistributionAPIVersion = HTTPField.Name("Docker-Distribution-API-Version")!
    static let ociSubject = HTTPField.Name("OCI-Subject")!
    static let ociTag = HTTPField.Name("OCI-Tag")!
    static let ociFiltersApplied = HTTPField.Name("OCI-Filters-Applied")!
    static let link = HTTPField.Name("Link")!
    static let berthMirrorPrefixes = HTTPField.Name("Berth-Mirror-Prefixes")!
}

import Foundation
