import AsyncHTTPClient
import Auth
import Foundation
import NIOCore
import NIOFoundationCompat

/// An issuer's signing keys over HTTPS: its discovery document's `jwks_uri` (RFC 8414 /
/// OpenID Connect Discovery), then the key set, bounded in size and time. Redirects are not
/// followed: the https (or loopback) check holds for every address asked.
package struct HTTPKeySetSource: KeySetSource {
    let http: HTTPClient
    static let limit = 1 << 20
    static let timeout: TimeAmount = .seconds(10)

    struct Failure: Error, CustomStringConvertible { var description: String }

    package func keySet(issuer: String, jwksURI: String?) async throws -> String {
        var uri = jwksURI
        if uri == nil {
            let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
            struct Discovery: Decodable { var issuer: String?; var jwks_uri: String? }
            let discovery = try JSONDecoder().decode(Discovery.self, from: try await get(base + "/.well-known/openid-configuration"))
            // The document must be the issuer's own (OpenID Connect Discovery 1.0, section 4.3).
            guard WorkloadIdentities.normalized(discovery.issuer ?? "") == WorkloadIdentities.normalized(issuer) else {
                throw Failure(description: "the discovery document of \(issuer) names another issuer")
            }
            uri = discovery.jwks_uri
        }
        guard let uri, let url = URL(string: uri), url.scheme == "https" || (url.scheme == "http" && WorkloadIssuer.isLoopbackHost(url.host ?? "")) else {
            throw Failure(description: "\(issuer) publishes no usable jwks_uri")
        }
        return String(decoding: try await get(uri), as: UTF8.self)
    }

    private func get(_ url: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await http.execute(request, timeout: Self.timeout)
        guard response.status == .ok else { throw Failure(description: "GET \(url): \(response.status.code)") }
        return Data(buffer: try await response.body.collect(upTo: Self.limit))
    }

    package static func make() -> HTTPKeySetSource { HTTPKeySetSource(http: client) }

    /// The client that follows no redirects, for the sign-in providers too.
    static var sharedClient: HTTPClient { client }

    /// One client for the process (a constant: never shut down, as the shared one), which
    /// does not follow redirects.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(10))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
