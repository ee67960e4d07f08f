import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird

/// Every signed-in person's own personal access tokens: created with the secret shown once,
/// listed with their last use, revoked one by one. A person who signs in through a provider
/// has no password: this is their `docker login`.
extension WebUI {
    func registerAccessTokens(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/tokens") { request, context in
            let visitor = context.visitor ?? .nobody
            guard visitor.session != nil else { return redirect(base + "/ui/login?next=" + base + "/ui/tokens") }
            return try await accessTokensPage(request, visitor)
        }
        pages.post("ui/tokens") { request, context in
            let visitor = context.visitor ?? .nobody
            guard visitor.session != nil else { return redirect(base + "/ui/login?next=" + base + "/ui/tokens") }
            do {
                return try await changeAccessTokens(request, visitor, context.form ?? WebForm(fields: []))
            } catch let error as AccountError {
                return try await accessTokensPage(request, visitor, problem: error.description, status: .badRequest)
            }
        }
    }

    func accessTokensPage(_ request: Request, _ visitor: Visitor, created: AccessTokenCreated? = nil, notice: String? = nil,
                          problem: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let accounts, let session = visitor.session else {
            return forbidden("This registry keeps no accounts database, so it has no access tokens.", visitor)
        }
        var frame = frame("Access tokens", visitor)
        frame.notice = notice
        frame.problem = problem
        let now = Date()
        let tokens = try await accounts.accessTokens(account: session.account).map { token in
            AccessTokensPage.Row(id: token.id, name: token.name, scopes: token.scopes?.joined(separator: " ") ?? "all of your rights",
                                 expires: token.expired ? "expired" : token.expires.map(Formatting.day) ?? "never",
                                 created: Formatting.time(token.created), lastUsed: token.lastUsed.map(Formatting.time) ?? "never",
                                 expired: token.expires.map { $0 <= now } ?? false)
        }
        var response = render("access-tokens", AccessTokensPage(
            frame: frame, tokens: tokens, hasTokens: !tokens.isEmpty, secret: created?.secret, createdName: created?.token.name,
            login: Self.shellQuoted(session.account), host: configuredHost ?? requestHost(request)), status: status)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    func changeAccessTokens(_ request: Request, _ visitor: Visitor, _ form: WebForm) async throws -> Response {
        guard let accounts, let session = visitor.session else {
            return forbidden("This registry keeps no accounts database, so it has no access tokens.", visitor)
        }
        let actor = AuditActor(session.account, address: visitor.address.map { "\($0)" })
        switch form["action"] {
        case "create":
            let scopes = try AccessTokenRecord.scopes(parsing: (form["scopes"] ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
            let created = try await accounts.createAccessToken(
                account: session.account, name: (form["name"] ?? "").trimmingCharacters(in: .whitespaces), scopes: scopes,
                expiresAt: try Self.date(form["expires"]), labels: visitor.identity?.labels, by: actor)
            return try await accessTokensPage(request, visitor, created: created, notice: "Created token \(created.token.name).")
        case "revoke":
            let revoked = try await accounts.revokeAccessToken(account: session.account, token: form["id"] ?? "", by: actor)
            return try await accessTokensPage(request, visitor, notice: "Revoked token \(revoked.name); it no longer works.")
        default:
            throw AccountError.invalid("unknown action")
        }
    }
}

struct AccessTokensPage {
    struct Row { var id: String; var name: String; var scopes: String; var expires: String; var created: String; var lastUsed: String; var expired: Bool }
    var frame: PageFrame
    var tokens: [Row]
    var hasTokens: Bool
    /// Shown once, right after creation.
    var secret: String?
    var createdName: String?
    var login: String
    var host: String
}
