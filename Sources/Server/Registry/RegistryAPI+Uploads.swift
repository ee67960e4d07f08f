import HTTPTypes
import Hummingbird
import Notifications
import OCI
import Storage

extension RegistryAPI {
    /// `query` is the one the access check saw (pull was checked on its mount source).
    func startUpload(_ repository: RepositoryName, _ query: UploadStartQuery, pullRights: PullRights,
                     _ request: Request, _ events: RequestEvents) async throws -> Response {
        if let (digest, source) = query.mount, let size = try await store.mountBlob(repository, from: source, digest) {
            events.emit(.mount, mediaType: Event.layerMediaType, blobTarget(repository, digest, size: size, mediaType: Event.layerMediaType, from: source, request))
            return blobCreated(repository, digest, request)
        }
        if let digest = query.automaticMount, let (source, size) = try await automaticMount(repository, digest, pullRights) {
            events.emit(.mount, mediaType: Event.layerMediaType, blobTarget(repository, digest, size: size, mediaType: Event.layerMediaType, from: source, request))
            return blobCreated(repository, digest, request)
        }
        if let digestText = query.digestText {
            // Single-request monolithic upload (OCI end-4b).
            let digest = try Digest(parsing: digestText)
            metrics?.uploadStarted()
            defer { metrics?.uploadFinished() }
            let id = try await store.startUpload(repository)
            let size: Int64
            do {
                _ = try await store.appendUpload(repository, id, at: 0, from: request.bodyStream(metrics))
                size = try await store.completeUpload(repository, id, digest: digest)
            } catch {
                try? await store.cancelUpload(repository, id)
                throw error
            }
            events.emit(.push, mediaType: Event.layerMediaType, blobTarget(repository, digest, size: size, mediaType: Event.layerMediaType, request))
            return blobCreated(repository, digest, request)
        }
        let id = try await store.startUpload(repository)
        return uploadResponse(.accepted, repository, id, size: 0, request)
    }

    /// How many repositories an automatic mount looks through for one holding the blob
    /// before it gives up and the client uploads it (the spec's fallback).
    static let automaticMountSearchLimit = 1000

    /// Mounts `digest` into `repository` from the first repository that holds it and that
    /// `pullRights` allow; nil when none is found (within the search limit).
    func automaticMount(_ repository: RepositoryName, _ digest: Digest, _ pullRights: PullRights) async throws -> (RepositoryName, Int64)? {
        func attempt(_ name: String) async throws -> (RepositoryName, Int64)? {
            guard name != repository.description, let source = try? RepositoryName(name) else { return nil }
            return try await store.mountBlob(repository, from: source, digest).map { (source, $0) }
        }
        if case .repositories(let names) = pullRights {
            for name in names.prefix(Self.automaticMountSearchLimit) {
                if let mounted = try await attempt(name) { return mounted }
            }
            return nil
        }
        var after: String?
        var searched = 0
        while searched < Self.automaticMountSearchLimit {
            let page = try await store.catalog(after: after, limit: 100)
            for name in page.names {
                searched += 1
                if case .decidedBy(let mayPull) = pullRights, !(await mayPull(name)) { continue }
                if let mounted = try await attempt(name) { return mounted }
            }
            guard page.more, let last = page.names.last else { break }
            after = last
        }
        return nil
    }

    func patchUpload(_ repository: RepositoryName, _ id: UploadID, _ request: Request) async throws -> Response {
        metrics?.uploadStarted()
        defer { metrics?.uploadFinished() }
        let offset = try chunkOffset(request)
        let size = try await store.appendUpload(repository, id, at: offset, from: request.bodyStream(metrics))
        return uploadResponse(.accepted, repository, id, size: size, request)
    }

    func finishUpload(_ repository: RepositoryName, _ id: UploadID, _ request: Request, _ events: RequestEvents) async throws -> Response {
        guard let digestText = request.uri.queryParameters["digest"] else {
            throw RegistryError(.digestInvalid, message: "digest query parameter is required to complete an upload")
        }
        let digest = try Digest(parsing: digestText)
        metrics?.uploadStarted()
        defer { metrics?.uploadFinished() }
        let hasBody = request.headers[.contentLength].map { $0 != "0" } ?? (request.headers[.transferEncoding] != nil)
        if hasBody {
            let offset = try chunkOffset(request)
            _ = try await store.appendUpload(repository, id, at: offset, from: request.bodyStream(metrics))
        }
        let size = try await store.completeUpload(repository, id, digest: digest)
        events.emit(.push, mediaType: Event.layerMediaType, blobTarget(repository, digest, size: size, mediaType: Event.layerMediaType, request))
        return blobCreated(repository, digest, request)
    }

    func uploadStatus(_ repository: RepositoryName, _ id: UploadID, _ request: Request) async throws -> Response {
        let status = try await store.uploadStatus(repository, id)
        return uploadResponse(.noContent, repository, id, size: status.size, request)
    }

    func cancelUpload(_ repository: RepositoryName, _ id: UploadID) async throws -> Response {
        try await store.cancelUpload(repository, id)
        return emptyResponse(.noContent, [.dockerUploadUUID: id.value])
    }

    /// The chunk's starting offset from `Content-Range: <start>-<end>`, checked against
    /// `Content-Length`; nil when no Content-Range was sent (stream append).
    func chunkOffset(_ request: Request) throws -> Int64? {
        guard let text = request.headers[.contentRange] else { return nil }
        guard let range = ContentRange(text) else {
            throw RegistryError(.rangeInvalid, message: "invalid content range: expected <start>-<end>")
        }
        if let lengthText = request.headers[.contentLength], let length = Int64(lengthText), length != range.length {
            throw RegistryError(.sizeInvalid, message: "Content-Length \(length) does not match Content-Range \(range.start)-\(range.end)")
        }
        return range.start
    }

    func uploadResponse(_ status: HTTPResponse.Status, _ repository: RepositoryName, _ id: UploadID, size: Int64,
                        _ request: Request) -> Response {
        let state = uploadState.state(repository: repository, id: id)
        return emptyResponse(status, [
            .location: url("/v2/\(repository)/blobs/uploads/\(id)?_state=\(state)", request),
            .range: "0-\(max(size - 1, 0))",
            .dockerUploadUUID: id.value,
        ])
    }

    func blobCreated(_ repository: RepositoryName, _ digest: Digest, _ request: Request) -> Response {
        emptyResponse(.created, [
            .location: url("/v2/\(repository)/blobs/\(digest)", request),
            .dockerContentDigest: digest.description,
        ])
    }
}

import Foundation
