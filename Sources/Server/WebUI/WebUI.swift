import Accounts
import Auth
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import OCI
import Storage

/// The web UI under `/ui/`: sign in, the repositories a visitor may pull, their tags and
/// images. Server-rendered, no JavaScript needed, nothing loaded from elsewhere; it reads
/// the registry through the same store and access policy as `/v2/`.
package struct WebUI: Sendable {
    let store: RegistryStore
    /// Every read of repositories, tags and manifests: through the content `/v2/` serves.
    let queries: RegistryQueries
    /// Deletes go through the registry API's own path, so webhooks see them as from `/v2/`.
    let api: RegistryAPI
    let access: WebUIAccess
    /// The accounts database, for the administration pages (when Berth is the token server).
    let accounts: AccountAdministration?
    let signer: WebSessionSigner
    let library: MustacheLibrary
    /// `http.prefix` without its trailing slash ("" at the root).
    let base: String
    let servesTLS: Bool
    let configuredHost: String?
    /// `http.host` is an https URL (a proxy in front terminates TLS).
    var configuredHTTPS = false
    /// Providers people sign in through, beside the password form.
    var signInProviders: [any SignInProvider] = []
    /// Seals the providers' refresh tokens before they are stored.
    var providerTokens = SecretSealer(key: SymmetricKey(size: .bits256))
    /// What namespaces with a quota use (the quota policy's own figures).
    var quotaUsage: NamespaceUsage?
    let summaries = ManifestSummaries()
    let storageUsage = StorageUsageCache()
    let repositoryFacts = RepositoryFactsCache()
    /// The upstream a repository is mirrored from, when it is.
    func mirrorOf(_ repository: RepositoryName) -> String? { queries.upstream(of: repository) }

    static let pageSize = 50
    /// How many repositories a listing asks a policy that runs a program per decision
    /// (ext_authz) about: every repository would be a program run per page view.
    static let outOfProcessListLimit = 200
    /// How many of those programs one page view runs at once: ext_authz has 16 slots for
    /// every request, and token requests must not wait behind a page.
    static let outOfProcessWidth = 4

    /// The names a listing asks the access policy about: all of them, or for a policy that
    /// runs a program per decision the first `outOfProcessListLimit` by name, with a notice
    /// saying so (not how many there are: the visitor may see fewer).
    func namesToAsk(_ names: [String], order: String = "by name") -> (names: [String], notice: String?) {
        guard access.decidesOutOfProcess, names.count > Self.outOfProcessListLimit else { return (names, nil) }
        return (Array(names.prefix(Self.outOfProcessListLimit)),
                "The access policy runs a program for every repository (ext_authz): only the first \(Self.outOfProcessListLimit) "
                    + "repositories \(order) were checked, and only those are listed. Search the repository list by name to find others.")
    }

    /// `question` about each name, in order: a program per decision is run a few at a time,
    /// an in-process policy is asked one name after another (no task per name).
    func askEach<T: Sendable>(_ names: [String], _ question: @escaping @Sendable (String) async -> T) async -> [T] {
        access.decidesOutOfProcess ? await names.concurrentMap(width: Self.outOfProcessWidth, question) : await names.asyncMap(question)
    }

    static let tagPageSize = 100
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (.xContentTypeOptions, "nosniff"),
        (.xFrameOptions, "DENY"),
        (.referrerPolicy, "same-origin"),
    ]

    /// The UI for this server's authentication, or nil when accounts live elsewhere (an
    /// external token server): it could not sign anyone in.
    package static func make(store: RegistryStore, api: RegistryAPI, options: APIOptions, secret: [UInt8], auth: AuthSetup,
                     quotaUsage: NamespaceUsage? = nil) throws -> WebUI? {
        let access: WebUIAccess
        if let endpoint = auth.tokenEndpoint {
            access = WebUIAccess(accounts: TokenServiceAccounts(service: endpoint.service, serviceName: auth.serviceName))
        } else if let htpasswd = auth.htpasswd {
            access = WebUIAccess(accounts: HtpasswdWebAccounts(accounts: htpasswd,
                                                               sessions: StorageRefreshTokenStore(driver: store.driver, directory: BerthLayout.webSessions)))
        } else if auth.registryDoor == nil {
            access = .open
        } else {
            return nil
        }
        // Derived from the upload secret (kept in the storage, shared by replicas), for its
        // own purpose only.
        let key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array("berth web session".utf8), using: SymmetricKey(data: secret)))
        let base = options.prefix == "/" ? "" : String(options.prefix.dropLast())
        // Browsing shows what is stored, signed or not (a signature policy is about pulls to run);
        // changes still go through the API and its policies.
        let browsing = (api.store as? PolicedContent)?.inner ?? api.store
        return WebUI(store: store, queries: RegistryQueries(content: browsing, store: store), api: api, access: access, accounts: auth.accounts.map(AccountAdministration.init), signer: WebSessionSigner(key: key), library: try makeLibrary(), base: base,
                     servesTLS: options.servesTLS, configuredHost: options.host.flatMap { URL(string: $0)?.host.map { h in
                         URL(string: options.host!)?.port.map { "\(h):\($0)" } ?? h } },
                     configuredHTTPS: options.host?.lowercased().hasPrefix("https://") == true,
                     signInProviders: auth.signInProviders, providerTokens: SecretSealer.forProviderTokens(secret: secret),
                     quotaUsage: quotaUsage)
    }

    static func makeLibrary() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, bytes) in [("layout", PackageResources.layout_mustache), ("login", PackageResources.login_mustache),
                              ("repositories", PackageResources.repositories_mustache), ("repository", PackageResources.repository_mustache),
                              ("manifest", PackageResources.manifest_mustache), ("message", PackageResources.message_mustache),
                              ("confirm", PackageResources.confirm_mustache), ("admin-users", PackageResources.admin_users_mustache), ("admin-user", PackageResources.admin_user_mustache),
                              ("admin-rules", PackageResources.admin_rules_mustache), ("admin-robots", PackageResources.admin_robots_mustache),
                              ("admin-audit", PackageResources.admin_audit_mustache), ("admin-tokens", PackageResources.admin_tokens_mustache),
                              ("admin-webhooks", PackageResources.admin_webhooks_mustache), ("admin-storage", PackageResources.admin_storage_mustache), ("admin-pulls", PackageResources.admin_pulls_mustache), ("home", PackageResources.home_mustache), ("access-tokens", PackageResources.access_tokens_mustache),
                              ("signed-in", PackageResources.signed_in_mustache),
                              ("admin-policies", PackageResources.admin_policies_mustache)] {
            try library.register(String(decoding: bytes, as: UTF8.self), named: name)
        }
        return library
    }

    /// Static assets and redirects on `root`; every page in one group behind the session
    /// middleware (who is looking) and the form middleware (a POST's fields, its CSRF token
    /// checked), so no page handler deals with cookies or tokens itself.
    func register(on root: RouterGroup<BerthRequestContext>) {
        root.get("") { _, _ in redirect(base + "/ui/") }
        root.get("ui/static/berth.css") { request, _ in Self.asset(request, PackageResources.berth_css, type: "text/css; charset=utf-8") }
        root.get("ui/static/favicon.svg") { request, _ in Self.asset(request, PackageResources.favicon_svg, type: "image/svg+xml") }
        root.get("favicon.ico") { _, _ in redirect(base + "/ui/static/favicon.svg") }
        let pages = root.group().add(middleware: WebSessionMiddleware(ui: self)).add(middleware: WebFormMiddleware(ui: self))
        registerSignIn(on: pages)
        registerFederatedSignIn(on: pages)
        registerHome(on: pages)
        registerRepositories(on: pages)
        registerRepository(on: pages)
        registerDeletion(on: pages)
        registerUsers(on: pages)
        registerRules(on: pages)
        registerRobots(on: pages)
        registerPolicies(on: pages)
        registerAudit(on: pages)
        registerPulls(on: pages)
        registerTokens(on: pages)
        registerAccessTokens(on: pages)
        registerWebhooks(on: pages)
        registerStorage(on: pages)
    }

    // MARK: visitors

    typealias Visitor = WebVisitor

    /// How a page's visitor proves who they are.
    var authenticators: [any Authenticator] { [SessionAuthenticator(signer: signer, access: access)] }

    /// Run once per page request by `WebSessionMiddleware`. A session that has ended (or a
    /// cookie that is not ours) leaves a signed-out visitor, whom the pages offer to sign in.
    func resolveVisitor(_ request: Request, _ context: BerthRequestContext) async -> Visitor {
        let address = context.clientAddress
        if let caller = try? await authenticators.caller(of: request, context: context), case .session(let session) = caller.proof {
            var visitor = Visitor(identity: caller.identity, session: session, address: address)
            visitor.isAdmin = await isAdmin(visitor)
            return visitor
        }
        return Visitor(identity: await access.anonymous(), session: nil, address: address)
    }

    func frame(_ title: String, _ visitor: Visitor) -> PageFrame {
        PageFrame(title: title, base: base, signedIn: visitor.session != nil, account: visitor.session?.account ?? "",
                  csrf: visitor.session?.csrf ?? "", readOnly: store.options.readOnly, deletesOff: !store.options.deleteEnabled,
                  isAdmin: visitor.isAdmin, signInOffered: access.hasAccounts,
                  tokensOffered: visitor.session != nil && accounts != nil)
    }

    /// A signed-in visitor also sees what anonymous visitors may pull: signing in must never
    /// show less (docker_auth's `account: ""` rules match anonymous clients only).
    func canPull(_ visitor: Visitor, _ repository: String) async -> Bool {
        guard let identity = visitor.identity else { return false }
        if await access.granted(identity, repository: repository, ["pull"], address: visitor.address).contains("pull") { return true }
        return await anonymousMayPull(visitor, repository)
    }

    /// Whether anonymous visitors may pull here, for a signed-in visitor whose own rules do not allow it.
    func anonymousMayPull(_ visitor: Visitor, _ repository: String) async -> Bool {
        guard let identity = visitor.identity, !identity.account.isEmpty, let anonymous = await access.anonymous() else { return false }
        return await access.granted(anonymous, repository: repository, ["pull"], address: visitor.address).contains("pull")
    }

    /// Whether delete buttons are shown: deletes are on, the store is writable, a signed-in
    /// visitor's rules grant `delete` here. The POST checks all of it again.
    func canDelete(_ visitor: Visitor, _ repository: String) async -> Bool {
        guard store.options.deleteEnabled, !store.options.readOnly, visitor.session != nil, let identity = visitor.identity else { return false }
        return await access.granted(identity, repository: repository, ["delete"], address: visitor.address).contains("delete")
    }







    // MARK: responses

    func render(_ template: String, _ page: Any, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        for (name, value) in Self.securityHeaders { headers[name] = value }
        let html = library.render(page, withTemplate: template) ?? ""
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    func redirect(_ location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }

    func notFound(_ visitor: Visitor) -> Response {
        render("message", MessagePage(frame: frame("Not found", visitor), heading: "Not found",
                                      message: "There is no such repository or image, or you may not see it."), status: .notFound)
    }

    func forbidden(_ message: String) -> Response {
        render("message", MessagePage(frame: PageFrame(title: "Refused", base: base, signedIn: false, account: "", csrf: "",
                                                       readOnly: store.options.readOnly, deletesOff: !store.options.deleteEnabled),
                                      heading: "Refused", message: message), status: .forbidden)
    }

    /// The same, inside the visitor's own page frame (still signed in, menus as they are).
    func forbidden(_ message: String, _ visitor: Visitor) -> Response {
        render("message", MessagePage(frame: frame("Not allowed", visitor), heading: "Not allowed", message: message), status: .forbidden)
    }

    /// An embedded file, cached by browsers for a day and revalidated by its hash.
    static func asset(_ request: Request, _ bytes: [UInt8], type: String) -> Response {
        var headers = HTTPFields()
        let etag = "\"\(OCI.Digest.compute(bytes).hex.prefix(16))\""
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=86400"
        headers[.eTag] = etag
        for (name, value) in securityHeaders { headers[name] = value }
        if request.headers[.ifNoneMatch] == etag { return Response(status: .notModified, headers: headers) }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Only a path of this UI: never another site, never a scheme-relative `//host`.
    func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix(base + "/ui/"), !next.hasPrefix("//"), !next.contains("\\"), next.utf8.count <= 1024 else {
            return base + "/ui/"
        }
        return next
    }

    /// The registry's address as the browser reached it (or a proxy in front says), for the
    /// pull commands.
    func requestHost(_ request: Request) -> String {
        if let forwarded = request.headers[HTTPField.Name("X-Forwarded-Host")!]?.split(separator: ",").first?
            .trimmingCharacters(in: .whitespaces), RegistryAPI.isSafeHost(forwarded) {
            return forwarded
        }
        if let authority = request.head.authority, RegistryAPI.isSafeHost(authority) { return authority }
        return "localhost:5000"
    }

    /// Whether clients reach the registry over HTTPS: served with TLS, behind a proxy that
    /// says so, or `http.host` is an https URL.
    func reachedSecurely(_ request: Request) -> Bool {
        secure(request) || configuredHTTPS
    }

    func secure(_ request: Request) -> Bool {
        servesTLS || request.headers[.xForwardedProto]?.lowercased() == "https"
    }
}

extension HTTPField.Name {
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
