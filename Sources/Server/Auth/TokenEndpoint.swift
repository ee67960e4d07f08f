import Auth
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OCI

/// `GET|POST /auth` and `/auth/token`: the Docker token protocol in front of `TokenService`.
package struct TokenEndpoint: Sendable {
    package let service: TokenService
    package var metrics: RegistryMetrics?
    /// docker_auth's `server.path_prefix`, so realms written for docker_auth keep working.
    var pathPrefix = ""
    /// The grant types a token request may name (`grant_type`, default `password`): what
    /// proves the caller in each. A new way to obtain a token is one more entry.
    var grants: [String: any TokenGrant] = ["password": PasswordGrant(), "refresh_token": RefreshTokenGrant()]

    package init(service: TokenService, metrics: RegistryMetrics? = nil, pathPrefix: String = "") {
        self.service = service
        self.metrics = metrics
        self.pathPrefix = pathPrefix
    }
    /// The `Basic realm` sent with a 401, as docker_auth uses the issuer.
    var basicRealm: String { service.issuer.issuer }

    /// The paths (below `http.prefix`) this endpoint answers.
    var paths: [String] {
        ["/auth", "/auth/token"] + (pathPrefix.isEmpty ? [] : [pathPrefix + "/auth", pathPrefix + "/auth/token"])
    }

    package static func normalizedPrefix(_ prefix: String?) -> String {
        var prefix = prefix ?? ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if !prefix.isEmpty, !prefix.hasPrefix("/") { prefix = "/" + prefix }
        return prefix
    }

    /// The token, or a refusal thrown for `ErrorMiddleware` to write (a 401 with this
    /// endpoint's Basic challenge, 429, 503, 400); each counted once in the token metrics
    /// (a method other than GET or POST never reaches the endpoint's routes).
    func respond(_ request: Request, context: BerthRequestContext) async throws -> Response {
        guard request.method == .get || request.method == .post else {
            throw RegistryError(.unsupported, message: "use GET or POST", status: 405)
        }
        // Token requests are form-encoded (`+` is a space), in the query and in POST bodies.
        var parameters = Self.formDecode(request.uri.query ?? "")
        if request.method == .post {
            var body = ByteBuffer()
            var tooLarge = false
            do {
                for try await chunk in request.body {
                    guard body.readableBytes + chunk.readableBytes <= 64 * 1024 else { tooLarge = true; break }
                    body.writeImmutableBuffer(chunk)
                }
            } catch {
                throw refusal(.badRequest("request body incomplete"))
            }
            if tooLarge { throw refusal(.badRequest("request body too large")) }
            parameters += Self.formDecode(String(buffer: body))
        }
        func first(_ name: String) -> String? { parameters.first { $0.0 == name }?.1 }
        var credentials = Self.basicCredentials(request.headers[.authorization]) ?? Self.bearerCredentials(request.headers[.authorization])
        if credentials == nil, request.headers[.authorization] != nil {
            // Credentials that cannot be read are refused, never treated as anonymous.
            throw refusal(.unauthorized("unreadable credentials"))
        }
        if credentials == nil, request.method == .post, let user = first("username"), let password = first("password") {
            credentials = (user, password)
        }
        let grantType = first("grant_type") ?? "password"
        guard let grant = grants[grantType] else { throw refusal(.badRequest("unsupported grant_type \(grantType.prefix(40))")) }
        if context.clientAddressMissing { throw refusal(.badRequest("client address not provided")) }
        let tokenRequest = TokenRequest(
            service: first("service") ?? "", scopes: parameters.filter { $0.0 == "scope" }.map(\.1),
            account: first("account") ?? (request.method == .post ? first("username") : nil), credentials: credentials,
            clientIP: context.clientAddress,
            wantsRefreshToken: first("offline_token") == "true" || first("access_type") == "offline",
            clientID: first("client_id"))
        do {
            let scopes = try service.requestedScopes(tokenRequest)
            let caller = try await grant.caller(tokenRequest, parameters: first, service: service)
            let response = try await service.issueToken(to: caller.identity, for: tokenRequest, scopes: scopes, mayRefresh: caller.mayRefresh)
            metrics?.tokenRequest(result: "issued")
            context.logger.debug("token issued", metadata: [
                "account": .string(tokenRequest.account ?? "-"), "scope": .string(tokenRequest.scopes.joined(separator: " "))])
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try response.json())))
        } catch let failure as AuthError {
            // The account name helps find brute force attempts; the password is never logged.
            context.logger.log(level: { switch failure { case .unavailable, .configuration: .error; default: .info } }(), "token refused", metadata: [
                "account": .string(String((tokenRequest.account ?? credentials?.0 ?? "-").prefix(64))), "reason": .string("\(failure)")])
            throw refusal(failure)
        } catch {
            context.logger.error("token request failed", metadata: ["error": .string("\(error)")])
            throw refusal(.unavailable("\(error)"))
        }
    }

    private func refusal(_ failure: AuthError) -> any Error {
        metrics?.tokenRequest(result: {
            switch failure {
            case .unauthorized, .inactive: "unauthorized"
            case .tooManyRequests: "throttled"
            case .badRequest: "bad_request"
            case .unavailable, .configuration: "unavailable"
            }
        }())
        switch failure {
        case .unauthorized, .inactive:
            return AuthenticationChallenge(error: RegistryError(.unauthorized, message: "authentication failed"),
                                           wwwAuthenticate: "Basic realm=\"\(basicRealm.replacingOccurrences(of: "\"", with: ""))\"")
        case .tooManyRequests:
            return failure
        case .unavailable, .configuration:
            // docker_auth answers 500 "Authentication failed"; 503 tells clients to retry. A
            // backend that cannot be used as configured is the operator's to mend (logged as
            // an error), never the client's to read.
            return RegistryError(.unavailable, message: "authentication backend unavailable, try again later")
        case .badRequest(let message):
            return RegistryError(.unsupported, message: message, status: 400)
        }
    }

    /// `application/x-www-form-urlencoded` pairs (`+` is a space); a malformed escape leaves
    /// the name or value as it was written rather than dropping it.
    static func formDecode(_ text: String) -> [(String, String)] {
        text.utf8.split(separator: UInt8(ascii: "&")).map { pair in
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { return (PercentDecoding.decodeFormField(pair), "") }
            return (PercentDecoding.decodeFormField(pair[..<equals]), PercentDecoding.decodeFormField(pair[pair.index(after: equals)...]))
        }
    }

    /// A CI system's own token sent as a Bearer (workload_auth): the password of a login
    /// whose user name does not matter. Only a JWT's shape is taken; anything else is unreadable.
    static func bearerCredentials(_ header: String?) -> (user: String, password: String)? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer ", header.utf8.count <= 16 * 1024 else { return nil }
        let token = String(header.dropFirst(7).trimmingHTTPWhitespace())
        guard token.split(separator: ".", omittingEmptySubsequences: false).count == 3 else { return nil }
        return ("bearer", token)
    }

    static func basicCredentials(_ header: String?) -> (user: String, password: String)? {
        // On the header's bytes: every token request carries one.
        guard let header else { return nil }
        let bytes = header.utf8
        // Up to a 16 KiB password: a CI system's token (workload_auth) is one.
        guard bytes.count > 6, bytes.count <= 22 * 1024,
              bytes.prefix(6).elementsEqual("basic ".utf8, by: { ($0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0) == $1 }),
              let data = Data(base64Encoded: String(header[bytes.index(bytes.startIndex, offsetBy: 6)...].trimmingHTTPWhitespace())),
              let text = String(validating: data, as: UTF8.self), let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (String(text[..<colon]), String(text[text.utf8.index(after: colon)...]))
    }
}
