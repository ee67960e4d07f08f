@testable import Assembly
import Config
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OCI
import Server
import Storage
import Testing

/// A Berth application on an in-memory store, driven through Hummingbird's test client.
struct APIFixture {
    var config = RegistryConfiguration()

    init(_ configure: (inout RegistryConfiguration) -> Void = { _ in }) {
        config.storage = .inMemory
        config.httpAddr = "127.0.0.1:0"
        config.uploadPurging.enabled = false
        config.accessLogDisabled = true
        configure(&config)
    }

    func run(_ test: @Sendable (Client, RegistryStore) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let store = try BerthServer.makeStore(config, logger: logger)
        let app = try await BerthServer.makeApplication(config, store: store, logger: logger)
        try await app.test(.router) { client in
            try await test(Client(client: client), store)
        }
    }

    struct Client: Sendable {
        let client: any TestClientProtocol

        @discardableResult
        func send(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: [UInt8]? = nil) async throws -> TestResponse {
            try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) }) { $0 }
        }

        /// Pushes a blob with a single monolithic POST and returns its digest.
        @discardableResult
        func pushBlob(_ repo: String, _ bytes: [UInt8], headers: HTTPFields = [:]) async throws -> Digest {
            let digest = Digest.compute(bytes)
            let r = try await send(.post, "/v2/\(repo)/blobs/uploads/?digest=\(digest)", headers: headers, body: bytes)
            #expect(r.status == .created)
            return digest
        }

        /// Pushes a minimal image (config + one layer) and returns the manifest bytes.
        func pushImage(_ repo: String, tag: String, seed: UInt8 = 1, subject: Digest? = nil, artifactType: String? = nil,
                       headers: HTTPFields = [:]) async throws -> (manifest: [UInt8], digest: Digest) {
            let config = Array(#"{"architecture":"amd64","os":"linux","seed":\#(seed)}"#.utf8)
            let layer = [UInt8](repeating: seed, count: 100)
            let c = try await pushBlob(repo, config, headers: headers)
            let l = try await pushBlob(repo, layer, headers: headers)
            let manifest = Self.manifest(config: (c, config.count), layers: [(l, layer.count)], subject: subject, artifactType: artifactType)
            var manifestHeaders = headers
            manifestHeaders[.contentType] = MediaType.ociManifest
            let r = try await send(.put, "/v2/\(repo)/manifests/\(tag)", headers: manifestHeaders, body: manifest)
            #expect(r.status == .created, "\(String(buffer: r.body))")
            return (manifest, Digest.compute(manifest))
        }

        static func manifest(config: (Digest, Int), layers: [(Digest, Int)], subject: Digest? = nil, artifactType: String? = nil,
                             mediaType: String = MediaType.ociManifest) -> [UInt8] {
            var json = #"{"schemaVersion":2,"mediaType":"\#(mediaType)","#
            if let artifactType { json += #""artifactType":"\#(artifactType)","# }
            json += #""config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(config.0)","size":\#(config.1)},"#
            json += #""layers":[\#(layers.map { #"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#($0.0)","size":\#($0.1)}"# }.joined(separator: ","))]"#
            if let subject { json += #","subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(subject)","size":1}"# }
            return Array((json + "}").utf8)
        }
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The first error code in a spec error body.
    var errorCode: String? {
        struct Body: Decodable { struct E: Decodable { var code: String }; var errors: [E] }
        return (try? JSONDecoder().decode(Body.self, from: Data(text.utf8)))?.errors.first?.code
    }

    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }

    /// The path and query of the Location header.
    var locationPath: String? {
        guard let location = header("Location") else { return nil }
        guard let url = URL(string: location), url.host != nil else { return location }
        return url.path + (url.query.map { "?" + $0 } ?? "")
    }
}
