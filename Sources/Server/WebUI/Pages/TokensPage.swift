import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// One account's refresh tokens and sessions, revoked one by one or all at once.
extension WebUI {
    func registerTokens(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/admin/tokens") { request, context in try await adminPage(request, context) { try await tokensPage($0, request: request) } }
        pages.post("ui/admin/tokens") { request, context in
            try await adminChange(request, context, { try await changeTokens($0, $1) },
                                  failed: { admin, form in try await tokensPage(admin, request: nil, account: form["account"] ?? "", status: .badRequest) })
        }
    }

    func tokensPage(_ admin: Admin, request: Request?, account fixed: String? = nil, notice: String? = nil,
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        var admin = admin
        let account = fixed ?? String((request?.uri.queryParameters["account"].map(String.init) ?? "").prefix(256))
        admin.frame.title = "Refresh tokens of \(account)"
        admin.frame.notice = notice
        let tokens = account.isEmpty ? [] : try await admin.accounts.refreshTokens(account: account)
        return render("admin-tokens", AdminTokensPage(frame: admin.frame, owner: account, tokens: tokens.map {
            // The id is a hash of the token; a prefix names it without showing anything usable.
            .init(id: String($0.id.prefix(16)), issued: Formatting.time($0.issued), client: $0.client ?? "-")
        }), status: status)
    }

    func changeTokens(_ admin: Admin, _ form: [String: String]) async throws -> Response {
        let account = (form["account"] ?? "").trimmingCharacters(in: .whitespaces)
        guard form["action"] == "revoke" else { throw AccountError.invalid("unknown action") }
        let id = form["id"].flatMap { $0.isEmpty ? nil : $0 }
        let count = try await admin.accounts.revokeRefreshTokens(account: account, idPrefix: id, by: admin.actor)
        let what = id.map { "token \($0)…" } ?? "\(count) refresh token\(count == 1 ? "" : "s")"
        return try await tokensPage(admin, request: nil, account: account, notice: "Revoked \(what) of \(account).")
    }
}

struct AdminTokensPage {
    struct Row { var id: String; var issued: String; var client: String }
    var frame: PageFrame
    /// Not `account`: the content renders inside the frame, whose `account` (the signed-in
    /// visitor) would shadow it.
    var owner: String
    var tokens: [Row]
    /// Stored, not computed: templates see stored properties only.
    var hasTokens: Bool

    init(frame: PageFrame, owner: String, tokens: [Row]) {
        self.frame = frame
        self.owner = owner
        self.tokens = tokens
        hasTokens = !tokens.isEmpty
    }
}
