import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What an S3 request answered when it was not a success.
struct S3Failure: Error, CustomStringConvertible {
    var method: String
    var key: String
    var status: Int
    var code: String
    var message: String

    var isNotFound: Bool { status == 404 || code == "NoSuchKey" || code == "NoSuchUpload" }
    /// A conditional write lost (`If-None-Match`/`If-Match`), or a concurrent one did.
    var isPreconditionFailed: Bool { status == 412 || status == 409 && code == "ConditionalRequestConflict" }
    var isRetryable: Bool {
        [500, 502, 503, 504].contains(status) || ["SlowDown", "RequestTimeout", "InternalError"].contains(code)
    }
    var description: String { "S3 \(method) \(key): \(status) \(code)\(message.isEmpty ? "" : ": \(message)")" }
}

struct S3Response {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var xml: S3XML? { S3XML.parse(body) }
    var etag: String? { headers.first(name: "etag") }
}

/// Signed S3 requests over AsyncHTTPClient: retries with backoff on 5xx, throttling and
/// broken connections; errors decoded from S3's XML.
final class S3Client: Sendable {
    let configuration: S3Configuration
    let endpoint: S3Configuration.Endpoint
    let http: HTTPClient
    let logger: Logger
    let rootPrefix: String
    static let maxAttempts = 5

    init(configuration: S3Configuration, logger: Logger) {
        self.configuration = configuration
        endpoint = configuration.endpoint
        var client = HTTPClient.Configuration()
        if configuration.skipVerify {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            client.tlsConfiguration = tls
        }
        client.timeout = .init(connect: .seconds(10), read: .seconds(120))
        client.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        client.decompression = .disabled
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: client)
        self.logger = logger
        let root = configuration.rootDirectory.split(separator: "/").joined(separator: "/")
        rootPrefix = root.isEmpty ? "" : root + "/"
    }

    deinit { http.shutdown { _ in } }

    /// The bucket key of a driver path (Distribution: `<rootdirectory>/<path>`).
    func key(_ path: StoragePath) -> String { rootPrefix + path.description }

    func canonicalPath(_ key: String) -> String {
        endpoint.bucketPath + "/" + SigV4Signer.uriEncode(key, keepSlash: true)
    }

    /// A buffered request; `body` is sent with its SHA-256 signed.
    func send(_ method: HTTPMethod, key: String, query: [(String, String)] = [], headers: [(String, String)] = [],
              body: ByteBuffer? = nil, maxResponse: Int = 16 << 20, accept: Set<Int> = [200, 204, 206]) async throws -> S3Response {
        let payloadHash = body.map { buffer in
            buffer.withUnsafeReadableBytes { SigV4Signer.hex(SHA256.hash(data: $0)) }
        } ?? SigV4Signer.emptyPayloadHash
        var attempt = 0
        while true {
            attempt += 1
            do {
                let request = try await makeRequest(method, key: key, query: query, headers: headers, body: body, payloadHash: payloadHash)
                let response = try await http.execute(request, timeout: .seconds(300))
                let bytes = try await response.body.collect(upTo: maxResponse)
                let result = S3Response(status: Int(response.status.code), headers: response.headers,
                                        body: Array(bytes.readableBytesView))
                if accept.contains(result.status) { return result }
                throw failure(method, key, result)
            } catch let failure as S3Failure where failure.isRetryable && attempt < Self.maxAttempts {
                logger.debug("retrying S3 request", metadata: ["failure": "\(failure)", "attempt": "\(attempt)"])
            } catch where attempt < Self.maxAttempts && Self.isTransient(error) {
                logger.debug("retrying S3 request", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...150) << attempt))
        }
    }

    /// A GET whose body is handed to `consumer` as it arrives (retried only before the
    /// first byte).
    func stream(key: String, headers: [(String, String)], into consumer: (ByteBuffer) async throws -> Void) async throws -> S3Response {
        var attempt = 0
        while true {
            attempt += 1
            let response: HTTPClientResponse
            do {
                let request = try await makeRequest(.GET, key: key, query: [], headers: headers, body: nil, payloadHash: SigV4Signer.emptyPayloadHash)
                response = try await http.execute(request, timeout: .hours(24))
                if response.status.code == 200 || response.status.code == 206 {
                    for try await chunk in response.body { try await consumer(chunk) }
                    return S3Response(status: Int(response.status.code), headers: response.headers, body: [])
                }
                let bytes = try await response.body.collect(upTo: 1 << 20)
                throw failure(.GET, key, S3Response(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView)))
            } catch let failure as S3Failure where failure.isRetryable && attempt < Self.maxAttempts {
                logger.debug("retrying S3 GET", metadata: ["failure": "\(failure)"])
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...150) << attempt))
        }
    }

    /// A signer with the credentials of this moment (temporary ones are renewed).
    func signer() async throws -> SigV4Signer {
        SigV4Signer(credentials: try await configuration.credentials.credentials(), region: configuration.signingRegion)
    }

    private func makeRequest(_ method: HTTPMethod, key: String, query: [(String, String)], headers: [(String, String)],
                             body: ByteBuffer?, payloadHash: String) async throws -> HTTPClientRequest {
        let signer = try await signer()
        let path = canonicalPath(key)
        var toSign = headers
        toSign.append(("host", endpoint.hostHeader))
        let signed = signer.signedHeaders(method: method.rawValue, path: path, query: query, headers: toSign, payloadHash: payloadHash)
        let queryString = SigV4Signer.canonicalQuery(query)
        var request = HTTPClientRequest(url: endpoint.base + path + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = method
        for (name, value) in signed where name != "host" { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(body)
        } else if method == .PUT || method == .POST {
            request.headers.add(name: "content-length", value: "0")
        }
        return request
    }

    private func failure(_ method: HTTPMethod, _ key: String, _ response: S3Response) -> S3Failure {
        let xml = response.xml
        return S3Failure(method: method.rawValue, key: key, status: response.status,
                         code: xml?["Code"] ?? HTTPResponseStatus(statusCode: response.status).reasonPhrase,
                         message: xml?["Message"] ?? "")
    }

    static func isTransient(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError {
            // Not `.cancelled`: a cancelled caller must not be retried.
            return [.remoteConnectionClosed, .readTimeout, .connectTimeout].contains(error)
        }
        if error is NIOConnectionError { return true }
        if let error = error as? IOError { return [ECONNRESET, ECONNREFUSED, EPIPE].contains(error.errnoCode) }
        return false
    }

    /// A presigned GET/HEAD URL for `key`, with `redirectendpoint`'s scheme and host when set.
    func presignedURL(method: String, key: String, expires: Int) async throws -> String {
        let path = canonicalPath(key)
        let query = try await signer().presignedQuery(method: method, host: endpoint.hostHeader, path: path, expires: expires)
        var base = endpoint.base
        if let redirect = configuration.redirectEndpoint, let url = URL(string: redirect), let scheme = url.scheme, let host = url.host {
            base = "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")"
        }
        return base + path + "?" + query
    }
}
