import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import Policies

/// Repository policies (immutable tags, for now): listed, added and removed like rules, by
/// administrators; every change audited and applied at once.
extension WebUI {
    func registerPolicies(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/admin/policies") { request, context in try await adminPage(request, context) { try await policiesPage($0) } }
        pages.post("ui/admin/policies") { request, context in
            try await adminChange(request, context, { try await changePolicies($0, $1) },
                                  failed: { admin, _ in try await policiesPage(admin, status: .badRequest) })
        }
    }

    func policiesPage(_ admin: Admin, notice: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        var admin = admin
        admin.frame.title = "Policies"
        admin.frame.notice = notice
        var counts: [String: Int] = [:]
        let rows = try await admin.accounts.repositoryPolicies().map { policy in
            counts[policy.kind, default: 0] += 1
            return PoliciesPage.Row(kind: policy.kind, number: counts[policy.kind]!, repositories: policy.spec["name"] ?? "",
                                    tags: policy.spec["tag"] ?? "", comment: policy.comment ?? "", added: Formatting.day(policy.createdAt))
        }
        return render("admin-policies", PoliciesPage(frame: admin.frame, policies: rows, hasPolicies: !rows.isEmpty), status: status)
    }

    func changePolicies(_ admin: Admin, _ form: [String: String]) async throws -> Response {
        switch form["action"] {
        case "add-immutable":
            let spec = ["name": (form["name"] ?? "").trimmingCharacters(in: .whitespaces), "tag": (form["tag"] ?? "").trimmingCharacters(in: .whitespaces)]
            try PolicyKinds.check(kind: "immutable", spec: spec)
            let comment = (form["comment"] ?? "").trimmingCharacters(in: .whitespaces)
            _ = try await admin.accounts.addRepositoryPolicy(kind: "immutable", spec: spec, comment: comment.isEmpty ? nil : comment, by: admin.actor)
            return try await policiesPage(admin, notice: "Tags \(spec["tag"]!) of \(spec["name"]!) are immutable from now on.")
        case "remove":
            let removed = try await admin.accounts.removeRepositoryPolicy(kind: form["kind"] ?? "", form["number"] ?? "", by: admin.actor)
            return try await policiesPage(admin, notice: "Removed the \(removed.kind) policy \(removed.summary).")
        default:
            throw AccountError.invalid("unknown action")
        }
    }
}

struct PoliciesPage {
    struct Row { var kind: String; var number: Int; var repositories: String; var tags: String; var comment: String; var added: String }
    var frame: PageFrame
    var policies: [Row]
    var hasPolicies: Bool
}
