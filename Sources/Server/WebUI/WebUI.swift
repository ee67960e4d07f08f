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
struct WebUI: Sendable {
    let store: RegistryStore
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
    let summaries = ManifestSummaries()
    let storageUsage = StorageUsageCache()
    let repositoryFacts = RepositoryFactsCache()
    /// The upstream a repository is mirrored from, when it is.
    let mirrorOf: @Sendable (RepositoryName) -> String?

    static let pageSize = 50
    static let tagPageSize = 100
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (.xContentTypeOptions, "nosniff"),
        (.xFrameOptions, "DENY"),
        (.referrerPolicy, "same-origin"),
    ]

    /// The UI for this server's authentication, or nil when accounts live elsewhere (an
    /// external token server): it could not sign anyone in.
    static func make(store: RegistryStore, api: RegistryAPI, options: APIOptions, secret: [UInt8], auth: AuthSetup) throws -> WebUI? {
        let access: WebUIAccess
        if let endpoint = auth.tokenEndpoint {
            access = .token(endpoint.service, serviceName: auth.serviceName)
        } else if let basic = auth.authorizer as? BasicAuthorizer {
            access = .basic(basic, sessions: StorageRefreshTokenStore(driver: store.driver, directory: BerthLayout.webSessions))
        } else if auth.authorizer == nil {
            access = .open
        } else {
            return nil
        }
        // Derived from the upload secret (kept in the storage, shared by replicas), for its
        // own purpose only.
        let key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array("berth web session".utf8), using: SymmetricKey(data: secret)))
        let base = options.prefix == "/" ? "" : String(options.prefix.dropLast())
        return WebUI(store: store, api: api, access: access, accounts: auth.accounts.map(AccountAdministration.init), signer: WebSessionSigner(key: key), library: try makeLibrary(), base: base,
                     servesTLS: options.servesTLS, configuredHost: options.host.flatMap { URL(string: $0)?.host.map { h in
                         URL(string: options.host!)?.port.map { "\(h):\($0)" } ?? h } },
                     configuredHTTPS: options.host?.lowercased().hasPrefix("https://") == true,
                     mirrorOf: { [content = api.store] in content.upstream(of: $0) })
    }

    static func makeLibrary() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, bytes) in [("layout", PackageResources.layout_mustache), ("login", PackageResources.login_mustache),
                              ("repositories", PackageResources.repositories_mustache), ("repository", PackageResources.repository_mustache),
                              ("manifest", PackageResources.manifest_mustache), ("message", PackageResources.message_mustache),
                              ("confirm", PackageResources.confirm_mustache), ("admin-users", PackageResources.admin_users_mustache), ("admin-user", PackageResources.admin_user_mustache),
                              ("admin-rules", PackageResources.admin_rules_mustache), ("admin-robots", PackageResources.admin_robots_mustache),
                              ("admin-audit", PackageResources.admin_audit_mustache), ("admin-tokens", PackageResources.admin_tokens_mustache),
                              ("admin-webhooks", PackageResources.admin_webhooks_mustache), ("admin-storage", PackageResources.admin_storage_mustache)] {
            try library.register(String(decoding: bytes, as: UTF8.self), named: name)
        }
        return library
    }

    func register(on root: RouterGroup<BerthRequestContext>) {
        root.get("") { _, _ in redirect(base + "/ui/") }
        // Hummingbird's router treats `ui` and `ui/` as one path.
        root.get("ui") { request, context in try await repositories(request, context) }
        root.get("ui/login") { request, context in await loginForm(request, context) }
        root.post("ui/login") { request, context in try await login(request, context) }
        root.post("ui/logout") { request, context in try await logout(request, context) }
        root.get("ui/static/berth.css") { request, _ in Self.asset(request, PackageResources.berth_css, type: "text/css; charset=utf-8") }
        root.get("ui/static/favicon.svg") { request, _ in Self.asset(request, PackageResources.favicon_svg, type: "image/svg+xml") }
        root.get("favicon.ico") { _, _ in redirect(base + "/ui/static/favicon.svg") }
        root.get("ui/repo/**") { request, context in try await repositoryOrManifest(request, context) }
        root.post("ui/repo/**") { request, context in try await delete(request, context) }
        registerAdmin(on: root)
        registerOperations(on: root)
    }

    // MARK: visitors

    struct Visitor {
        var identity: Identity?
        var session: WebSession?
        var address: IPAddress?
        var isAdmin = false
    }

    func visitor(_ request: Request, _ context: BerthRequestContext) async -> Visitor {
        let address = context.clientAddress
        if let cookie = Cookies.value(WebSession.cookieName, in: request), let session = signer.decode(cookie),
           let identity = await access.revalidate(session) {
            var visitor = Visitor(identity: identity, session: session, address: address)
            visitor.isAdmin = await isAdmin(visitor)
            return visitor
        }
        return Visitor(identity: await access.anonymous(), session: nil, address: address)
    }

    func frame(_ title: String, _ visitor: Visitor) -> PageFrame {
        PageFrame(title: title, base: base, signedIn: visitor.session != nil, account: visitor.session?.account ?? "",
                  csrf: visitor.session?.csrf ?? "", readOnly: store.options.readOnly, deletesOff: !store.options.deleteEnabled,
                  isAdmin: visitor.isAdmin, signInOffered: access.hasAccounts)
    }

    /// A signed-in visitor also sees what anonymous visitors may pull: signing in must never
    /// show less (docker_auth's `account: ""` rules match anonymous clients only).
    func canPull(_ visitor: Visitor, _ repository: String) async -> Bool {
        guard let identity = visitor.identity else { return false }
        if await access.granted(identity, repository: repository, ["pull"], address: visitor.address).contains("pull") { return true }
        guard !identity.account.isEmpty, let anonymous = await access.anonymous() else { return false }
        return await access.granted(anonymous, repository: repository, ["pull"], address: visitor.address).contains("pull")
    }

    /// Whether delete buttons are shown: deletes are on, the store is writable, a signed-in
    /// visitor's rules grant `delete` here. The POST checks all of it again.
    func canDelete(_ visitor: Visitor, _ repository: String) async -> Bool {
        guard store.options.deleteEnabled, !store.options.readOnly, visitor.session != nil, let identity = visitor.identity else { return false }
        return await access.granted(identity, repository: repository, ["delete"], address: visitor.address).contains("delete")
    }

    // MARK: pages

    func repositories(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let visitor = await visitor(request, context)
        if visitor.identity == nil { return redirect(base + "/ui/login") }
        let query = String((request.uri.queryParameters["q"].map(String.init) ?? "").prefix(256))
        let needle = query.lowercased()
        var visible: [String] = []
        // The catalog's index (kept current with other writers), not a walk of the layout.
        let catalog = try await store.catalog(after: nil, limit: 10_000_000).names
        for name in catalog where needle.isEmpty || name.contains(needle) {
            if await canPull(visitor, name) { visible.append(name) }
        }
        let pages = max(1, (visible.count + Self.pageSize - 1) / Self.pageSize)
        let page = min(max(1, request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 1), pages)
        var rows: [RepositoriesPage.Row] = []
        for name in visible.dropFirst((page - 1) * Self.pageSize).prefix(Self.pageSize) {
            guard let repository = try? RepositoryName(name) else { continue }
            let count = (try? await store.tags(repository).count) ?? 0
            let facts = await repositoryFacts.facts(repository, store: store)
            let pushed = facts.pushed
            rows.append(.init(name: name, tags: count, size: facts.bytes.map(Formatting.size) ?? "-",
                              pushed: pushed.map(Formatting.time) ?? "-", pushedISO: pushed?.formatted(.iso8601) ?? "",
                              mirrorOf: mirrorOf(repository)))
        }
        var pageFrame = frame("Repositories", visitor)
        // The confirmation after a repository delete (only for a name that is really gone).
        if let deleted = request.uri.queryParameters["deleted"].map(String.init), let name = try? RepositoryName(deleted),
           !catalog.contains(name.value) {
            pageFrame.notice = "Deleted the repository \(name.value)."
        }
        return render("repositories", RepositoriesPage(frame: pageFrame, query: query, repositories: rows,
                                                         total: visible.count, page: page, pages: pages))
    }

    func repositoryOrManifest(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let visitor = await visitor(request, context)
        let path = String(request.uri.path.dropFirst((base + "/ui/repo/").count))
        // `_manifest` and `_delete` cannot be parts of a repository name (no component may
        // begin with `_`), so they never clash with one.
        var name = path
        var digest: OCI.Digest?
        var confirmDelete = false
        if let marker = path.range(of: "/_manifest/") {
            name = String(path[..<marker.lowerBound])
            digest = try? OCI.Digest(parsing: path[marker.upperBound...])
            if digest == nil { return notFound(visitor) }
        } else if path.hasSuffix("/_delete") {
            name = String(path.dropLast("/_delete".count))
            confirmDelete = true
        }
        guard let repository = try? RepositoryName(PercentDecoding.decode(name)) else { return notFound(visitor) }
        if visitor.identity == nil {
            return redirect(base + "/ui/login?next=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        }
        // Not allowed and not there look the same: names are not disclosed.
        guard await canPull(visitor, repository.value), try await store.repositoryExists(repository) else { return notFound(visitor) }
        if confirmDelete { return try await confirmDeletion(repository, request, visitor) }
        if let digest { return try await manifestPage(repository, digest, visitor) }
        return try await repositoryPage(repository, request, visitor)
    }

    func repositoryPage(_ repository: RepositoryName, _ request: Request, _ visitor: Visitor) async throws -> Response {
        let query = String((request.uri.queryParameters["q"].map(String.init) ?? "").prefix(128))
        let byName = request.uri.queryParameters["sort"].map(String.init) != "date"
        // Names come from the directory listing; only the shown page's tags are resolved.
        var tags = try await store.tags(repository).filter { query.isEmpty || $0.contains(query) }.compactMap { try? Tag($0) }
        // Push times come from the tag links' modification times (Distribution's layout
        // keeps no other); only sorting by date needs them for every tag.
        var pushedAt: [Tag: Double] = [:]
        func pushed(_ tag: Tag) async -> Double {
            if let known = pushedAt[tag] { return known }
            let time = (try? await store.driver.stat(Layout.tagCurrentLink(repository, tag)).modifiedAt) ?? 0
            pushedAt[tag] = time
            return time
        }
        if !byName {
            for tag in tags { _ = await pushed(tag) }
            tags.sort { pushedAt[$0, default: 0] > pushedAt[$1, default: 0] }
        }
        let pages = max(1, (tags.count + Self.tagPageSize - 1) / Self.tagPageSize)
        let page = min(max(1, request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 1), pages)
        var rows: [RepositoryPage.Row] = []
        for tag in tags.dropFirst((page - 1) * Self.tagPageSize).prefix(Self.tagPageSize) {
            guard let digest = try? await store.resolveTag(repository, tag),
                  let stored = try? await store.manifest(repository, .digest(digest)) else { continue }
            let summary = await summaries.summary(stored, in: repository, store: store)
            let date = Date(timeIntervalSince1970: await pushed(tag))
            rows.append(RepositoryPage.Row(
                tag: tag.value, digest: digest.description, shortDigest: Formatting.short(digest), kind: summary.kind,
                platforms: summary.platforms, size: Formatting.size(summary.size),
                pushed: Formatting.time(date), pushedISO: date.formatted(.iso8601)))
        }
        let host = configuredHost ?? requestHost(request)
        let sort = byName ? "name" : "date"
        let link = { (page: Int) in "?q=\(query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&sort=\(sort)&page=\(page)" }
        return render("repository", RepositoryPage(
            frame: frame(repository.value, visitor), name: repository.value,
            lastComponent: String(repository.value.split(separator: "/").last ?? ""), host: host,
            firstTag: rows.first?.tag ?? "latest", hasTags: !tags.isEmpty, tlsFlag: reachedSecurely(request) ? "" : " --tls-verify=false",
            mirrorOf: mirrorOf(repository), query: query, filtered: query.isEmpty ? nil : query,
            byName: byName, deletable: await canDelete(visitor, repository.value), tags: rows, total: tags.count, totalTags: tags.count == 1 ? "1 tag" : "\(tags.count) tags", page: page, pages: pages,
            previous: page > 1 ? link(page - 1) : nil, next: page < pages ? link(page + 1) : nil))
    }

    func manifestPage(_ repository: RepositoryName, _ digest: OCI.Digest, _ visitor: Visitor) async throws -> Response {
        guard let stored = try? await store.manifest(repository, .digest(digest)),
              let parsed = try? Manifest(parsing: stored.bytes, contentType: stored.mediaType) else { return notFound(visitor) }
        let tags = try await store.tagTargets(repository).filter { $0.digest == digest }.map(\.tag.value)
        var config: ManifestPage.Config?
        if parsed.kind == .image, let descriptor = parsed.config, descriptor.size <= 1 << 20,
           let bytes = try? await ConfigBlob.read(descriptor.digest, store: store), let image = ImageConfiguration(decoding: bytes) {
            config = ManifestPage.Config(
                platform: image.platform.isEmpty ? nil : image.platform, created: image.created.map(Formatting.instant),
                entrypoint: image.config?.Entrypoint?.joined(separator: " "), cmd: image.config?.Cmd?.joined(separator: " "),
                workingDir: image.config?.WorkingDir, user: image.config?.User, env: image.config?.Env ?? [],
                hasEnv: !(image.config?.Env ?? []).isEmpty,
                labels: (image.config?.Labels ?? [:]).sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) },
                hasLabels: !(image.config?.Labels ?? [:]).isEmpty,
                history: (image.history ?? []).compactMap(\.created_by),
                hasHistory: !(image.history ?? []).compactMap(\.created_by).isEmpty)
        }
        let referrers = (try? await store.referrers(repository, subject: digest, artifactType: nil)) ?? []
        let raw = (try? JSONSerialization.jsonObject(with: Data(stored.bytes)))
            .flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) }
            .map { String(decoding: $0, as: UTF8.self) } ?? String(decoding: stored.bytes, as: UTF8.self)
        let summary = await summaries.summary(stored, in: repository, store: store)
        let platforms: [ManifestPage.Platform] = parsed.manifests.map {
            .init(platform: $0.platform.map(Formatting.platform) ?? "-", digest: $0.digest.description,
                  shortDigest: Formatting.short($0.digest), size: Formatting.size($0.size))
        }
        let layers: [ManifestPage.Layer] = parsed.layers.enumerated().map {
            .init(index: $0.offset + 1, shortDigest: Formatting.short($0.element.digest), mediaType: $0.element.mediaType,
                  size: Formatting.size($0.element.size))
        }
        let annotations: [ManifestPage.Entry] = (parsed.annotations ?? [:]).sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) }
        let referrerRows: [ManifestPage.Referrer] = referrers.map {
            .init(artifactType: $0.artifactType ?? $0.mediaType, digest: $0.digest.description,
                  shortDigest: Formatting.short($0.digest), size: Formatting.size($0.size))
        }
        return render("manifest", ManifestPage(
            frame: frame(repository.value + "@" + Formatting.short(digest), visitor), name: repository.value,
            digest: digest.description, mediaType: stored.mediaType, artifactType: Formatting.artifactType(parsed),
            tags: tags.isEmpty ? nil : tags.sorted().joined(separator: ", "), size: Formatting.size(summary.size),
            platforms: platforms, hasPlatforms: !platforms.isEmpty, config: config, layers: layers, hasLayers: !layers.isEmpty,
            annotations: annotations, hasAnnotations: !annotations.isEmpty, referrers: referrerRows, hasReferrers: !referrerRows.isEmpty,
            deletable: await canDelete(visitor, repository.value), raw: raw))
    }

    // MARK: deleting

    /// What a delete would remove, with the form that does it: a tag alone, or a manifest and
    /// every tag that points at it.
    func confirmDeletion(_ repository: RepositoryName, _ request: Request, _ visitor: Visitor) async throws -> Response {
        guard await canDelete(visitor, repository.value) else { return notFound(visitor) }
        let targets = try await store.tagTargets(repository)
        if request.uri.queryParameters["repository"] == "1" {
            let tags = targets.map(\.tag.value).sorted()
            let shown = Array(tags.prefix(50)) + (tags.count > 50 ? ["… and \(tags.count - 50) more"] : [])
            return render("confirm", ConfirmPage(
                frame: frame("Delete \(repository.value)", visitor), name: repository.value,
                heading: "Delete the repository \(repository.value)?",
                explanation: "Every tag and manifest of \(repository.value) goes, and it leaves the list of repositories; its layers are reclaimed by the next garbage collection if nothing else uses them. Repositories under \(repository.value)/ stay.",
                going: shown, hasGoing: !tags.isEmpty, tag: nil, digest: nil, wholeRepository: true,
                action: tags.isEmpty ? "Delete repository" : "Delete repository and \(tags.count) tag\(tags.count == 1 ? "" : "s")"))
        }
        if let text = request.uri.queryParameters["tag"].map(String.init), let tag = try? Tag(text),
           let digest = targets.first(where: { $0.tag == tag })?.digest {
            return render("confirm", ConfirmPage(
                frame: frame("Delete \(repository.value):\(tag.value)", visitor), name: repository.value,
                heading: "Delete the tag \(tag.value)?",
                explanation: "The tag goes; the manifest \(Formatting.short(digest)) stays, with any other tags that point at it.",
                going: [], hasGoing: false, tag: tag.value, digest: nil, wholeRepository: false, action: "Delete tag \(tag.value)"))
        }
        if let text = request.uri.queryParameters["digest"].map(String.init), let digest = try? OCI.Digest(parsing: text),
           (try? await store.manifest(repository, .digest(digest))) != nil {
            let going = targets.filter { $0.digest == digest }.map(\.tag.value).sorted()
            return render("confirm", ConfirmPage(
                frame: frame("Delete \(repository.value)@\(Formatting.short(digest))", visitor), name: repository.value,
                heading: "Delete the manifest \(Formatting.short(digest))?",
                explanation: "The manifest leaves \(repository.value); its layers are reclaimed by the next garbage collection if nothing else uses them.",
                going: going, hasGoing: !going.isEmpty, tag: nil, digest: digest.description, wholeRepository: false,
                action: going.isEmpty ? "Delete manifest" : "Delete manifest and \(going.count) tag\(going.count == 1 ? "" : "s")"))
        }
        return notFound(visitor)
    }

    func delete(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let path = String(request.uri.path.dropFirst((base + "/ui/repo/").count))
        guard path.hasSuffix("/_delete"),
              let repository = try? RepositoryName(PercentDecoding.decode(String(path.dropLast("/_delete".count)))) else {
            return forbidden("Nothing can be sent there.")
        }
        let form = try await formBody(request)
        func field(_ name: String) -> String? { form.first { $0.0 == name }?.1 }
        let visitor = await visitor(request, context)
        guard let session = visitor.session, let token = field("csrf"), ConstantTime.equal(token, session.csrf) else {
            return forbidden("That request did not come from a page of this site.")
        }
        guard await canDelete(visitor, repository.value) else {
            return forbidden("You may not delete in \(repository.value).")
        }
        if field("repository") == "1" {
            do {
                _ = try await RepositoryDeletion(api: api, directory: accounts?.directory).perform(repository, caller: session.account, request, context)
            } catch let error as RegistryError where error.code == .nameUnknown {
                return notFound(visitor)
            }
            await repositoryFacts.forget(repository.value)
            return redirect(base + "/ui/?deleted=" + (repository.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        }
        let reference: Reference
        if let text = field("tag"), let tag = try? Tag(text) {
            reference = .tag(tag)
        } else if let text = field("digest"), let digest = try? OCI.Digest(parsing: text) {
            reference = .digest(digest)
        } else {
            return forbidden("Name a tag or a manifest digest to delete.")
        }
        let events = api.requestEvents(request, context, actor: session.account)
        do {
            _ = try await api.deleteManifest(repository, reference, events)
        } catch let error as RegistryError where error.code == .manifestUnknown {
            return notFound(visitor)
        }
        context.logger.info("deleted from the web UI", metadata: [
            "account": .string(session.account), "repository": .string(repository.value), "reference": .string(reference.description)])
        return redirect(base + "/ui/repo/" + repository.value)
    }

    // MARK: signing in and out

    func loginForm(_ request: Request, _ context: BerthRequestContext, error: String? = nil, username: String = "",
                   status: HTTPResponse.Status = .ok) async -> Response {
        let visitor = Visitor(identity: nil, session: nil, address: nil)
        guard access.allowsSignIn else {
            return render("message", MessagePage(frame: frame("Sign in", visitor), heading: "No accounts",
                                                 message: "This registry is open: there is nothing to sign in to."))
        }
        let token = signer.loginToken()
        let next = safeNext(request.uri.queryParameters["next"].map(String.init))
        var response = render("login", LoginPage(frame: PageFrame(title: "Sign in", base: base, signedIn: false, account: "", csrf: token,
                                                                  readOnly: store.options.readOnly, deletesOff: !store.options.deleteEnabled),
                                                 error: error, username: username, next: next), status: status)
        response.headers.append(HTTPField(name: .setCookie, value: Cookies.set(WebSession.loginCookieName, token, path: base + "/ui/",
                                                                               secure: secure(request), maxAge: 3600)))
        return response
    }

    func login(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let form = try await formBody(request)
        func field(_ name: String) -> String? { form.first { $0.0 == name }?.1 }
        guard signer.checkLoginToken(cookie: Cookies.value(WebSession.loginCookieName, in: request), form: field("csrf")) else {
            return forbidden("The sign-in form expired or did not come from this site. Reload the page and try again.")
        }
        let user = String((field("username") ?? "").prefix(256))
        let password = field("password") ?? ""
        let address = context.clientAddress
        do {
            let identity = try await access.signIn(user: user, password: password, address: address)
            guard !identity.account.isEmpty else { throw AuthError.unauthorized("anonymous") }
            let session = try await access.startSession(identity)
            var response = redirect(safeNext(field("next")))
            response.headers.append(HTTPField(name: .setCookie, value: Cookies.set(
                WebSession.cookieName, signer.encode(session), path: base + "/", secure: secure(request), maxAge: WebSession.lifetime)))
            response.headers.append(HTTPField(name: .setCookie, value: Cookies.set(
                WebSession.loginCookieName, "", path: base + "/ui/", secure: secure(request), maxAge: 0)))
            return response
        } catch AuthError.tooManyRequests(let seconds) {
            var response = await loginForm(request, context, error: "Too many failed attempts from here; try again in \(RetryAfter.words(seconds)).",
                                           username: user, status: .tooManyRequests)
            response.headers[.retryAfter] = String(seconds)
            return response
        } catch AuthError.unavailable {
            return await loginForm(request, context, error: "Accounts cannot be checked right now; try again shortly.", username: user,
                                   status: .serviceUnavailable)
        } catch is AuthError {
            return await loginForm(request, context, error: "Wrong user name or password.", username: user, status: .unauthorized)
        } catch {
            // The password was right but the session could not be recorded.
            context.logger.error("web session not recorded", metadata: ["error": .string("\(error)")])
            return await loginForm(request, context, error: "Accounts cannot be checked right now; try again shortly.", username: user,
                                   status: .serviceUnavailable)
        }
    }

    func logout(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let form = try await formBody(request)
        guard let cookie = Cookies.value(WebSession.cookieName, in: request), let session = signer.decode(cookie),
              let token = form.first(where: { $0.0 == "csrf" })?.1, ConstantTime.equal(token, session.csrf) else {
            return forbidden("That request did not come from a page of this site.")
        }
        if form.contains(where: { $0.0 == "everywhere" && $0.1 == "1" }), let accounts {
            // Every session and refresh token of the account, on every replica.
            _ = try await accounts.revokeRefreshTokens(account: session.account,
                                                       by: AuditActor(session.account, address: context.clientAddress.map { "\($0)" }))
        }
        try await access.endSession(session)
        var response = redirect(base + "/ui/login")
        response.headers.append(HTTPField(name: .setCookie, value: Cookies.set(WebSession.cookieName, "", path: base + "/",
                                                                               secure: secure(request), maxAge: 0)))
        return response
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

    func formBody(_ request: Request) async throws -> [(String, String)] {
        var body = ByteBuffer()
        for try await chunk in request.body {
            guard body.readableBytes + chunk.readableBytes <= 16 * 1024 else { throw HTTPError(.contentTooLarge) }
            body.writeImmutableBuffer(chunk)
        }
        return TokenEndpoint.formDecode(String(buffer: body))
    }
}

extension HTTPField.Name {
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
