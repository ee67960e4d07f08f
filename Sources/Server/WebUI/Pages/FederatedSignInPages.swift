import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird

/// Signing in through a provider (`oidc_auth`…): the sign-in page's buttons start a flow for a
/// web UI session; docker_auth's own route (`/oidc_auth`) starts one that ends on a page with
/// a docker password (an access token of the account, as long as `password_lifetime`). Both
/// come back on the provider's redirect route, checked against the flow's signed cookie.
extension WebUI {
    static let signInCookie = "berth_signin"
    static let signInPurpose = "sign-in flow"

    func registerFederatedSignIn(on pages: RouterGroup<BerthRequestContext>) {
        for provider in signInProviders {
            pages.get(RouterPath("ui/login/\(provider.id)")) { request, context in
                let next = request.uri.queryParameters["next"].map { safeNext(String($0)) }
                return try await startSignIn(provider, .session, next: next, request, context)
            }
            var paths = [provider.callbackPath]
            if provider.routePath != provider.callbackPath { paths.append(provider.routePath) }
            for path in paths {
                pages.get(RouterPath(String(path.drop { $0 == "/" }))) { request, context in
                    let query = request.uri.queryParameters
                    if query["code"] != nil || query["error"] != nil || query["state"] != nil {
                        return try await finishSignIn(provider, request, context)
                    }
                    return try await startSignIn(provider, .dockerPassword, next: nil, request, context)
                }
            }
        }
    }

    private func startSignIn(_ provider: any SignInProvider, _ purpose: SignInFlow.Purpose, next: String?,
                             _ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let flow = SignInFlow.start(provider: provider.id, purpose: purpose, next: next)
        let location: String
        do {
            location = try await provider.authorizationURL(for: flow)
        } catch let error as AuthError {
            return signInProblem(provider, error, context)
        }
        var response = redirect(location)
        response.headers.append(HTTPField(name: .setCookie, value: Cookies.set(
            Self.signInCookie, signer.seal(flow, purpose: Self.signInPurpose), path: "/", secure: secure(request),
            maxAge: SignInFlow.lifetime, lax: true)))
        return response
    }

    private func finishSignIn(_ provider: any SignInProvider, _ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        guard let cookie = Cookies.value(Self.signInCookie, in: request),
              let flow = signer.open(cookie, as: SignInFlow.self, purpose: Self.signInPurpose), flow.provider == provider.id,
              !flow.isExpired(), let state = query["state"], ConstantTime.equal(String(state), flow.state) else {
            return signInMessage("This sign-in did not start here, or took longer than \(SignInFlow.lifetime / 60) minutes. Start again.",
                                 status: .badRequest)
        }
        if let error = query["error"] {
            let description = query["error_description"].map { ": " + String($0.prefix(200)) } ?? ""
            return signInMessage("\(provider.displayName) did not sign you in (\(String(error.prefix(64)))\(description)).", status: .forbidden)
        }
        guard let code = query["code"], !code.isEmpty, code.utf8.count <= 4096, let accounts, let service = access.accounts?.tokenService else {
            return signInMessage("The provider's answer carries no code.", status: .badRequest)
        }
        let address = context.clientAddress.map { "\($0)" }
        let identity: Identity
        do {
            let result = try await provider.finish(code: String(code), flow: flow)
            let person = result.person
            // A name a file, LDAP or an external program holds is theirs, not the provider's.
            if try await service.otherBackendKnows(person.account, except: { $0 is AccountDirectory || !$0.answersLookups }) {
                throw AccountError.conflict("\(person.account) is an account of another source here (a file or a directory); it cannot sign in through \(provider.displayName)")
            }
            try await accounts.federatedSignIn(person, provider: provider.id, refreshToken: try result.refreshToken.map(providerTokens.seal),
                                               create: provider.createsAccounts, address: address)
            // The database's account, and nothing another source says about the name.
            guard let current = try await accounts.directory.lookup(user: person.account) else {
                throw AuthError.unauthorized("the account \(person.account) is gone")
            }
            identity = current
        } catch let error as AuthError {
            if error.isRefusal {
                await service.loginObserver?(String(flow.provider.prefix(64)), context.clientAddress, false, "\(provider.displayName): \(error)")
            }
            return signInProblem(provider, error, context)
        } catch let error as AccountError {
            return signInMessage(error.description, status: .forbidden)
        }
        var response: Response
        switch flow.purpose {
        case .session:
            let session = try await access.startSession(identity)
            let next = flow.next.map(safeNext) ?? base + "/ui/home"
            // The session cookie is Strict: the browser sends it only on a navigation that
            // starts here, not on a redirect chain that began at the provider.
            response = render("signed-in", SignedInPage(frame: frame("Signed in", Visitor(identity: identity, session: session, address: nil)),
                                                         next: next, person: identity.account, password: nil, host: "", commands: []))
            response.headers.append(HTTPField(name: .setCookie, value: Cookies.set(
                WebSession.cookieName, signer.encode(session), path: base + "/", secure: secure(request), maxAge: WebSession.lifetime)))
        case .dockerPassword:
            // A new password each time, the oldest beyond three revoked: a page reached again
            // (even by a link from elsewhere) adds one, never breaks a login in use.
            let prefix = "signed in with \(provider.id)"
            let name = "\(prefix) \(Date().formatted(.iso8601).replacingOccurrences(of: ":", with: ".")) \(UUID().uuidString.prefix(4).lowercased())"
            let earlier = try await accounts.accessTokens(account: identity.account).filter { $0.name.hasPrefix(prefix) }.sorted { $0.created < $1.created }
            for old in earlier.dropLast(2) {
                _ = try? await accounts.revokeAccessToken(account: identity.account, token: old.id, by: AuditActor(identity.account, address: address))
            }
            let lifetime = TimeInterval(provider.passwordLifetime.components.seconds)
            let created = try await accounts.createAccessToken(account: identity.account, name: name, scopes: nil,
                                                               expiresAt: Date().addingTimeInterval(lifetime), labels: identity.labels,
                                                               by: AuditActor(identity.account, address: address))
            let host = provider.registryURL.flatMap { URL(string: $0) }.map { url in url.host.map { h in url.port.map { "\(h):\($0)" } ?? h } ?? "" }
                ?? configuredHost ?? requestHost(request)
            let user = Self.shellQuoted(identity.account)
            response = render("signed-in", SignedInPage(
                frame: frame("Docker password", .nobody), next: nil, person: identity.account, password: created.secret, host: host,
                commands: ["docker", "podman", "nerdctl"].map { "\($0) login -u \(user) -p \(created.secret) \(host)" },
                expires: Formatting.time(Date().addingTimeInterval(lifetime))))
            response.headers[.cacheControl] = "no-store"
        }
        response.headers.append(HTTPField(name: .setCookie, value: Cookies.set(Self.signInCookie, "", path: "/", secure: secure(request),
                                                                               maxAge: 0, lax: true)))
        return response
    }

    static func shellQuoted(_ text: String) -> String {
        text.allSatisfy { $0.isLetter || $0.isNumber || "@._-".contains($0) } ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private func signInProblem(_ provider: any SignInProvider, _ error: AuthError, _ context: BerthRequestContext) -> Response {
        if case .unavailable(let why) = error {
            context.logger.warning("sign-in provider unavailable", metadata: ["provider": .string(provider.id), "error": .string(why)])
            return signInMessage("\(provider.displayName) cannot be reached right now; try again shortly.", status: .serviceUnavailable)
        }
        return signInMessage("\(provider.displayName) did not confirm who you are: \(error).", status: .forbidden)
    }

    private func signInMessage(_ message: String, status: HTTPResponse.Status) -> Response {
        render("message", MessagePage(frame: frame("Sign-in failed", .nobody), heading: "Sign-in failed", message: message), status: status)
    }
}

struct SignedInPage {
    var frame: PageFrame
    /// A web UI session: where to continue.
    var next: String?
    /// Not `account`: the frame's (the signed-in visitor's) would shadow it.
    var person: String
    /// docker_auth's result page: the password and the login lines.
    var password: String?
    var host: String
    var commands: [String]
    var expires: String?
}
