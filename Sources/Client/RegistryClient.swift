import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import OCI

/// A client of the registry API (Berth, Distribution or any OCI registry): answers
/// `WWW-Authenticate` challenges with Basic credentials or Docker tokens (password or
/// identity/refresh token), caching each token for its scope while it is valid.
public final class RegistryClient: Sendable {
    public struct Options: Sendable {
        /// Verify the server's TLS certificate.
        public var tlsVerify = true
        /// A PEM bundle of extra trusted certificate authorities.
        public var caFile: String?
        /// Allow plain HTTP for hosts other than loopback ones, when HTTPS fails.
        public var insecure = false
        public var timeout: TimeInterval = 120
        public var userAgent = "berth"
        /// Token servers besides the registry's own host (and its domain) that may receive its
        /// credentials (`proxy.upstreams[].tokenhosts`).
        public var tokenHosts: [String] = []

        public init(tlsVerify: Bool = true, caFile: String? = nil, insecure: Bool = false) {
            self.tlsVerify = tlsVerify
            self.caFile = caFile
            self.insecure = insecure
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: ByteBuffer

        public var bytes: [UInt8] { Array(body.readableBytesView) }
        public func header(_ name: String) -> String? { headers.first(name: name) }
    }

    public let host: String
    public let baseURL: String
    let credentials: RegistryCredentials
    /// Where redirects may lead and credentials may go.
    let hosts: UpstreamHosts
    /// Asked for credentials at each challenge instead of `credentials`, when set.
    let helper: CredentialHelper?
    let options: Options
    let http: HTTPClient
    let tokens = TokenCache()

    /// Connects to `host`: HTTPS, or plain HTTP when asked for, or as a fallback for
    /// loopback hosts (as docker does) and with `insecure`.
    public static func connect(host: String, scheme: ImageReference.Scheme? = nil,
                               credentials: RegistryCredentials, options: Options = .init()) async throws -> RegistryClient {
        let http = makeHTTPClient(options)

        let schemes: [ImageReference.Scheme]
        if let scheme { schemes = [scheme] }
        else if options.insecure || Self.isLoopback(host) { schemes = [.https, .http] }
        else { schemes = [.https] }
        var failures: [ClientError] = []
        for scheme in schemes {
            let client = RegistryClient(host: host, baseURL: "\(scheme.rawValue)://\(host)", credentials: credentials, options: options, http: http)
            do {
                _ = try await client.send(.GET, "/v2/", scope: nil, accept: [], deadline: 10)
                return client
            } catch let error as ClientError {
                if case .transport = error { failures.append(error); continue }
                try? await http.shutdown()
                // A TLS port asked in plain HTTP answers 400 or nothing: the HTTPS attempt's
                // untrusted certificate is what the user must hear about.
                throw Self.tlsFailure(in: failures) ?? error
            }
        }
        try? await http.shutdown()
        throw Self.tlsFailure(in: failures) ?? failures.last ?? ClientError.transport("cannot reach \(host)")
    }

    /// Only a certificate refused proves the port speaks TLS: a plain-HTTP server fails the
    /// HTTPS attempt's handshake too.
    static func tlsFailure(in failures: [ClientError]) -> ClientError? {
        failures.first { $0.transportCause == .untrustedCertificate }
    }

    /// A client of the registry at `baseURL` (`https://host[:port]`) that connects on first
    /// use: for a long-running server whose upstream may be down when it starts.
    public static func lazy(baseURL: String, credentials: RegistryCredentials, helper: CredentialHelper? = nil,
                            options: Options = .init()) throws -> RegistryClient {
        guard let url = URL(string: baseURL), let scheme = url.scheme, scheme == "http" || scheme == "https",
              let hostName = url.host, url.path.isEmpty || url.path == "/" else {
            throw ClientError.usage("\(baseURL): expected http(s)://host[:port] with no path")
        }
        let host = url.port.map { "\(hostName):\($0)" } ?? hostName
        return RegistryClient(host: host, baseURL: "\(scheme)://\(host)", credentials: credentials, helper: helper, options: options,
                              http: makeHTTPClient(options))
    }

    static func makeHTTPClient(_ options: Options) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if !options.tlsVerify { tls.certificateVerification = .none }
        if let caFile = options.caFile {
            tls.additionalTrustRoots = [.file(caFile)]
        }
        // Redirects are followed by `execute`, which checks where each one leads.
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(Int64(options.timeout)))
        configuration.decompression = .disabled
        // Say at once that nothing listens, rather than retry for seconds.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    init(host: String, baseURL: String, credentials: RegistryCredentials, helper: CredentialHelper? = nil, options: Options, http: HTTPClient) {
        self.hosts = UpstreamHosts(base: URL(string: baseURL)!, tokenHosts: options.tokenHosts)
        self.host = host
        self.baseURL = baseURL
        self.credentials = credentials
        self.helper = helper
        self.options = options
        self.http = http
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    static func isLoopback(_ host: String) -> Bool {
        let name = host.hasPrefix("[") ? String(host.dropFirst().prefix { $0 != "]" }) : String(host.split(separator: ":").first ?? "")
        return name == "localhost" || name.hasPrefix("127.") || name == "::1"
    }

    /// Sends a request, answering an auth challenge once. `scope` is the token scope the
    /// request needs (`repository:NAME:pull`), used when the challenge does not name one.
    /// Non-2xx answers become `ClientError.registry` unless listed in `allow`.
    public func send(_ method: HTTPMethod, _ path: String, scope: String?, accept: [String],
                     body: [UInt8]? = nil, contentType: String? = nil, maxBody: Int = 16 << 20,
                     allow: Set<Int> = [], deadline: TimeInterval? = nil) async throws -> Response {
        var authorization = await tokens.authorization(for: scope ?? "")
        for attempt in 0..<2 {
            let response = try await perform(method, path, accept: accept, body: body, contentType: contentType,
                                             authorization: authorization, maxBody: maxBody, deadline: deadline ?? options.timeout)
            if response.status == 401, attempt == 0,
               let header = response.header("WWW-Authenticate"), let challenge = AuthChallenge(header: header) {
                authorization = try await answer(challenge, scope: scope)
                continue
            }
            if (200..<300).contains(response.status) || allow.contains(response.status) { return response }
            if response.status == 401 {
                throw ClientError.unauthorized("\(host): authentication required or refused for \(path)\(credentials == .anonymous ? " (no credentials given)" : "")")
            }
            let errors = (try? JSONDecoder().decode(RegistryErrorBody.self, from: Data(response.bytes)))?.errors ?? []
            throw ClientError.registry(status: response.status, errors: errors, url: "\(method.rawValue) \(path)")
        }
        throw ClientError.unauthorized("\(host): authentication refused for \(path)")
    }

    func perform(_ method: HTTPMethod, _ path: String, accept: [String], body: [UInt8]?, contentType: String?,
                 authorization: String?, maxBody: Int, deadline: TimeInterval) async throws -> Response {
        var request = HTTPClientRequest(url: path.hasPrefix("http://") || path.hasPrefix("https://") ? path : baseURL + path)
        request.method = method
        request.headers.add(name: "User-Agent", value: options.userAgent)
        for type in accept { request.headers.add(name: "Accept", value: type) }
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        }
        do {
            // AsyncHTTPClient retries refused connections until this deadline.
            let response = try await execute(request, timeout: .milliseconds(Int64(deadline * 1000)))
            let collected = method == .HEAD ? ByteBuffer() : try await response.body.collect(upTo: maxBody)
            return Response(status: Int(response.status.code), headers: response.headers, body: collected)
        } catch let error as NIOTooManyBytesError {
            throw ClientError.invalidResponse("\(path): response larger than \(maxBody) bytes (\(error))")
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError.transport(TransportFailure.describe(error, host: host, scheme: URL(string: baseURL)?.scheme ?? "https"),
                                        cause: TransportFailure.kind(of: error))
        }
    }

    func currentCredentials() async throws -> RegistryCredentials {
        if let helper { return try await helper.credentials() }
        return credentials
    }

    /// Builds the Authorization header a challenge asks for.
    func answer(_ challenge: AuthChallenge, scope: String?) async throws -> String {
        let credentials = try await currentCredentials()
        switch challenge.scheme {
        case "basic":
            guard case .basic(let user, let password) = credentials else {
                throw ClientError.unauthorized("\(host) wants a username and password")
            }
            let header = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
            // Basic auth covers every request: send it up front from now on.
            await tokens.useForEveryScope(header)
            return header
        case "bearer":
            guard let realm = challenge.realm else { throw ClientError.invalidResponse("\(host): Bearer challenge without a realm") }
            let wanted = challenge.scope ?? scope
            // Credentials go only where they belong (see UpstreamHosts); elsewhere the token is
            // asked for anonymously.
            let allowed = URL(string: realm).map(hosts.maySendCredentials) ?? false
            let token = try await fetchToken(realm: realm, service: challenge.service, scope: wanted,
                                             credentials: allowed ? credentials : .anonymous)
            await tokens.store("Bearer \(token.value)", for: scope ?? "", expiresIn: token.expiresIn)
            return "Bearer \(token.value)"
        default:
            throw ClientError.unauthorized("\(host): unsupported authentication scheme \(challenge.scheme)")
        }
    }
}

/// Bearer tokens by the scope they were requested for, dropped shortly before they expire;
/// or, against a Basic-auth registry, one header for everything.
actor TokenCache {
    private var entries: [String: (header: String, expires: Date)] = [:]
    private var everyScope: String?

    func authorization(for scope: String) -> String? {
        guard let entry = entries[scope], entry.expires > Date() else { return everyScope }
        return entry.header
    }

    func useForEveryScope(_ header: String) {
        everyScope = header
    }

    func store(_ header: String, for scope: String, expiresIn: Int) {
        entries[scope] = (header, Date().addingTimeInterval(Double(max(expiresIn - 10, 5))))
    }
}
