import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension RegistryClient {
    struct Token {
        var value: String
        var expiresIn: Int
    }

    private struct TokenResponse: Decodable {
        var token: String?
        var access_token: String?
        var expires_in: Int?
    }

    /// The Docker token flow: GET with Basic credentials, or the OAuth2 POST with
    /// `grant_type=refresh_token` for an identity token (what `docker login` saves).
    func fetchToken(realm: String, service: String?, scope: String?, credentials: RegistryCredentials) async throws -> Token {
        guard var components = URLComponents(string: realm), components.scheme == "https" || components.scheme == "http" else {
            throw ClientError.invalidResponse("\(host): token realm is not an http(s) URL: \(realm)")
        }
        var request: HTTPClientRequest
        switch credentials {
        case .identityToken(let refreshToken):
            var form = URLComponents()
            form.queryItems = [
                URLQueryItem(name: "grant_type", value: "refresh_token"),
                URLQueryItem(name: "refresh_token", value: refreshToken),
                URLQueryItem(name: "client_id", value: options.userAgent),
            ] + (service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
              + (scope.map { [URLQueryItem(name: "scope", value: $0)] } ?? [])
            request = HTTPClientRequest(url: realm)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            let encoded = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            request.body = .bytes(ByteBuffer(string: encoded))
        case .basic, .anonymous:
            var items = components.queryItems ?? []
            if let service { items.append(URLQueryItem(name: "service", value: service)) }
            if let scope { items.append(URLQueryItem(name: "scope", value: scope)) }
            if case .basic(let user, _) = credentials { items.append(URLQueryItem(name: "account", value: user)) }
            components.queryItems = items.isEmpty ? nil : items
            components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
            request = HTTPClientRequest(url: components.string ?? realm)
            if case .basic(let user, let password) = credentials {
                request.headers.add(name: "Authorization", value: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
            }
        }
        request.headers.add(name: "User-Agent", value: options.userAgent)
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .seconds(30))
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw ClientError.transport("token request to \(realm) failed: \(error)")
        }
        guard response.status == .ok else {
            if credentials == .anonymous {
                throw ClientError.unauthorized("\(host): authentication required: give --username and --password, or log in with docker, podman or skopeo")
            }
            throw ClientError.unauthorized("\(host): the token server refused the credentials (HTTP \(response.status.code))")
        }
        guard let decoded = try? JSONDecoder().decode(TokenResponse.self, from: Data(body.readableBytesView)),
              let value = decoded.token ?? decoded.access_token, !value.isEmpty else {
            throw ClientError.invalidResponse("\(host): the token server's answer holds no token")
        }
        return Token(value: value, expiresIn: decoded.expires_in ?? 60)
    }
}
