import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// Signing in (password form, limited and audited like docker logins) and out (here or everywhere).
extension WebUI {
    func registerSignIn(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/login") { request, context in await loginForm(request, context) }
        pages.post("ui/login") { request, context in try await login(request, context) }
        pages.post("ui/logout") { request, context in try await logout(request, context) }
    }

    func loginForm(_ request: Request, _ context: BerthRequestContext, error: String? = nil, username: String = "",
                   status: HTTPResponse.Status = .ok) async -> Response {
        let visitor = Visitor(identity: nil, session: nil, address: nil)
        guard access.hasAccounts else {
            return render("message", MessagePage(frame: frame("Sign in", visitor), heading: "No accounts",
                                                 message: "This registry is open: there is nothing to sign in to."))
        }
        let token = signer.loginToken()
        // Empty: after signing in, the home page.
        let next = request.uri.queryParameters["next"].map { safeNext(String($0)) } ?? ""
        var response = render("login", LoginPage(frame: PageFrame(title: "Sign in", base: base, signedIn: false, account: "", csrf: token,
                                                                  readOnly: store.options.readOnly, deletesOff: !store.options.deleteEnabled),
                                                 error: error, username: username, next: next,
                                                 providers: signInProviders.map { provider in
                                                     LoginPage.Provider(name: provider.displayName, url: base + "/ui/login/\(provider.id)"
                                                         + (next.isEmpty ? "" : "?next=" + OIDCSignIn.formEncode(next)))
                                                 }), status: status)
        response.headers.append(HTTPField(name: .setCookie, value: Cookies.set(WebSession.loginCookieName, token, path: base + "/ui/",
                                                                               secure: secure(request), maxAge: 3600)))
        return response
    }

    func login(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let form = context.form ?? WebForm(fields: [])
        func field(_ name: String) -> String? { form[name] }
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
            let next = field("next") ?? ""
            var response = redirect(next.isEmpty ? base + "/ui/home" : safeNext(next))
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
        // The cookie's own session, valid or not any more: signing out must work for an
        // account disabled or revoked meanwhile (the form middleware checks valid sessions only).
        let form = context.form ?? WebForm(fields: [])
        guard let cookie = Cookies.value(WebSession.cookieName, in: request), let session = signer.decode(cookie),
              let token = form["csrf"], ConstantTime.equal(token, session.csrf) else {
            return forbidden("That request did not come from a page of this site.")
        }
        if form["everywhere"] == "1", let accounts {
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
}

struct LoginPage {
    struct Provider { var name: String; var url: String }
    var frame: PageFrame
    var error: String?
    var username: String
    var next: String
    var providers: [Provider] = []
}
