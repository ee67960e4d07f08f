import Auth
import Crypto
import Hummingbird

/// Who is looking at a web UI page: signed in (a session still valid against the accounts
/// as they are now) or not, with what anonymous visitors may do when signed out.
struct WebVisitor: Sendable {
    var identity: Identity?
    var session: WebSession?
    var address: IPAddress?
    var isAdmin = false

    static let nobody = WebVisitor()
}

/// The web UI's session cookie as credentials: signed by this server, its record still kept
/// (not signed out or revoked), the account as it is now (not removed, disabled, expired or
/// re-created, its password not changed since the session began).
struct SessionAuthenticator: Authenticator {
    let signer: WebSessionSigner
    let access: WebUIAccess

    func authenticate(_ request: Request, context: BerthRequestContext) async throws -> Caller? {
        guard let cookie = Cookies.value(WebSession.cookieName, in: request) else { return nil }
        guard let session = signer.decode(cookie), let identity = await access.revalidate(session) else {
            throw AuthenticationFailure(message: "the session has ended")
        }
        return Caller(identity: identity, proof: .session(session))
    }
}

/// Resolves the visitor once per page request, before any handler runs: the web UI's
/// authenticators (the session cookie), then the admin right.
struct WebSessionMiddleware: RouterMiddleware {
    let ui: WebUI

    func handle(_ request: Request, context: BerthRequestContext,
                next: (Request, BerthRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        context.visitor = await ui.resolveVisitor(request, context)
        return try await next(request, context)
    }
}

/// A form's fields, in order (a repeated field keeps its first value).
struct WebForm: Sendable {
    var fields: [(String, String)]

    subscript(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }

    var dictionary: [String: String] { Dictionary(fields, uniquingKeysWith: { first, _ in first }) }
}

/// Every POST of the web UI: the body read (16 KiB at most), and its `csrf` field checked
/// against the signed-in visitor's session in constant time, before any handler sees it.
/// Signing in has no session yet (its handler checks its own login token), and signing out
/// must work with a session no longer valid (its handler checks the cookie's own token).
struct WebFormMiddleware: RouterMiddleware {
    let ui: WebUI
    static let limit = 16 * 1024

    func handle(_ request: Request, context: BerthRequestContext,
                next: (Request, BerthRequestContext) async throws -> Response) async throws -> Response {
        guard request.method == .post else { return try await next(request, context) }
        var body = ByteBuffer()
        for try await chunk in request.body {
            guard body.readableBytes + chunk.readableBytes <= Self.limit else { throw HTTPError(.contentTooLarge) }
            body.writeImmutableBuffer(chunk)
        }
        let form = WebForm(fields: TokenEndpoint.formDecode(String(buffer: body)))
        if request.uri.path != ui.base + "/ui/login", request.uri.path != ui.base + "/ui/logout" {
            guard let session = context.visitor?.session, let token = form["csrf"], ConstantTime.equal(token, session.csrf) else {
                return ui.forbidden("That request did not come from a page of this site.")
            }
        }
        var context = context
        context.form = form
        return try await next(request, context)
    }
}
