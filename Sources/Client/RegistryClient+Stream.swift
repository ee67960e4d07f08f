import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI

extension RegistryClient {
    /// A blob's bytes as they arrive, unverified: the reader hashes them.
    public struct BlobStream: Sendable {
        /// From `Content-Length`, when the registry sent one: the size of `body`.
        public var size: Int64?
        public var body: HTTPClientResponse.Body
        /// Where in the blob `body` starts: the offset asked for when the registry answered
        /// with that range (206), 0 when it sent the whole blob.
        public var offset: Int64 = 0
    }

    /// Opens a blob for streaming (a 10 GiB layer passes through in bounded memory), from
    /// `offset` on when the registry honours a range (see `BlobStream.offset`).
    public func openBlob(_ repository: RepositoryName, _ digest: Digest, from offset: Int64 = 0) async throws -> BlobStream {
        let headers = offset > 0 ? [("Range", "bytes=\(offset)-")] : []
        let response = try await stream(.GET, "/v2/\(repository.value)/blobs/\(digest)", scope: pullScope(repository), headers: headers,
                                        readingAhead: true)
        let size = response.headers.first(name: "Content-Length").flatMap(Int64.init)
        guard response.status == .partialContent else { return BlobStream(size: size, body: response.body) }
        // `Content-Range: bytes 100-999/1000`: the range sent must be the one asked for.
        guard let range = response.headers.first(name: "Content-Range"), range.hasPrefix("bytes \(offset)-") else {
            throw ClientError.invalidResponse("\(host): a GET of blob \(digest) from byte \(offset) answered another range")
        }
        return BlobStream(size: size, body: response.body, offset: offset)
    }

    /// A blob's size, from a HEAD request; BLOB_UNKNOWN (404) surfaces as `ClientError.registry`.
    public func blobSize(_ repository: RepositoryName, _ digest: Digest) async throws -> Int64 {
        let response = try await send(.HEAD, "/v2/\(repository.value)/blobs/\(digest)", scope: pullScope(repository), accept: [])
        guard let size = response.header("Content-Length").flatMap(Int64.init), size >= 0 else {
            throw ClientError.invalidResponse("\(host): HEAD of blob \(digest) gave no size")
        }
        return size
    }

    /// `send` without collecting the body: answers one auth challenge, maps errors the same way,
    /// and hands back a 2xx response whose body the caller must read or drop.
    func stream(_ method: HTTPMethod, _ path: String, scope: String?, headers: [(String, String)] = [],
                readingAhead: Bool = false) async throws -> HTTPClientResponse {
        var authorization = await tokens.authorization(for: scope ?? "")
        for attempt in 0..<2 {
            var request = HTTPClientRequest(url: baseURL + path)
            request.method = method
            request.headers.add(name: "User-Agent", value: options.userAgent)
            request.headers.add(contentsOf: headers)
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            let response: HTTPClientResponse
            do {
                response = try await execute(request, timeout: .seconds(Int64(options.timeout)), readingAhead: readingAhead)
            } catch {
                throw ClientError.transport("\(baseURL)\(path): \(error)")
            }
            if (200..<300).contains(response.status.code) { return response }
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: 1 << 20)
            } catch {
                throw ClientError.transport("\(baseURL)\(path): \(error)")
            }
            if response.status == .unauthorized, attempt == 0,
               let header = response.headers.first(name: "WWW-Authenticate"), let challenge = AuthChallenge(header: header) {
                authorization = try await answer(challenge, scope: scope)
                continue
            }
            if response.status == .unauthorized {
                throw ClientError.unauthorized("\(host): authentication required or refused for \(path)")
            }
            let errors = (try? JSONDecoder().decode(RegistryErrorBody.self, from: Data(body.readableBytesView)))?.errors ?? []
            throw ClientError.registry(status: Int(response.status.code), errors: errors, url: "\(method.rawValue) \(path)")
        }
        throw ClientError.unauthorized("\(host): authentication refused for \(path)")
    }
}
