import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// The audit log, newest first, filtered by account and action, paged by cursor.
extension WebUI {
    func registerAudit(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/admin/audit") { request, context in try await adminPage(request, context) { try await auditPage($0, request: request) } }
    }

    func auditPage(_ admin: Admin, request: Request) async throws -> Response {
        var admin = admin
        admin.frame.title = "Audit log"
        let account = String((request.uri.queryParameters["account"].map(String.init) ?? "").prefix(256))
        let action = String((request.uri.queryParameters["action"].map(String.init) ?? "").prefix(64))
        let before = request.uri.queryParameters["before"].flatMap { AuditCursor(String($0)) }
        let entries = try await admin.accounts.audit(limit: Self.auditPageSize, account: account.isEmpty ? nil : account,
                                                            action: action.isEmpty ? nil : action, before: before)
        func link(before cursor: AuditCursor?) -> String {
            var components = URLComponents()
            components.queryItems = [URLQueryItem(name: "account", value: account), URLQueryItem(name: "action", value: action)]
                + (cursor.map { [URLQueryItem(name: "before", value: $0.text)] } ?? [])
            return base + "/ui/admin/audit" + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        }
        let olderLink = entries.count == Self.auditPageSize ? entries.last.map { link(before: AuditCursor(after: $0)) } : nil
        return render("admin-audit", AdminAuditPage(frame: admin.frame, filterAccount: account, action: action, entries: entries.map {
            .init(at: Formatting.time($0.at), actor: $0.actor, action: $0.action, target: $0.target, address: $0.address ?? "-",
                  result: ($0.success ? "ok" : "refused") + ($0.count.map { " ×\($0)" } ?? ""),
                  detail: $0.detail.map(AuditDetailText.readable) ?? "")
        }, olderLink: olderLink, newestLink: before == nil ? nil : link(before: nil)))
    }

    static let auditPageSize = 200
}

struct AdminAuditPage {
    struct Row { var at: String; var actor: String; var action: String; var target: String; var address: String; var result: String; var detail: String }
    var frame: PageFrame
    /// Not `account`, which the frame's (the signed-in visitor) would shadow.
    var filterAccount: String
    var action: String
    var entries: [Row]
    /// The link to the next (older) page, when this one is full.
    var olderLink: String?
    /// On a later page, the link back to the newest entries.
    var newestLink: String?
}
