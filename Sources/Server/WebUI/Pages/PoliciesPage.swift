import OCI
import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import Policies

/// Repository policies (immutable tags, retention, quotas with what each namespace uses): listed, added and removed like rules, by
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
        let records = try await admin.accounts.repositoryPolicies()
        var usageByNamespace: [String: QuotaUsage] = [:]
        if let quotaUsage {
            for row in await QuotaUsage.report(records, usage: quotaUsage) { usageByNamespace[row.namespace] = row }
        }
        var counts: [String: Int] = [:]
        let rows = records.map { policy in
            counts[policy.kind, default: 0] += 1
            let scope = policy.spec["name"] ?? policy.spec["namespace"].map { "\($0)/*" } ?? ""
            var settings = policy.spec.filter { $0.key != "name" && $0.key != "namespace" }.mapValues(RepositoryPolicyRecord.shortened)
            if policy.kind == "quota", let size = try? ByteSize(parsing: settings["size"] ?? "") { settings["size"] = size.description }
            return PoliciesPage.Row(kind: policy.kind, number: counts[policy.kind]!, repositories: scope,
                                    settings: settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
                                    usage: policy.spec["namespace"].flatMap { usageByNamespace[$0]?.summary } ?? "",
                                    comment: policy.comment ?? "", added: Formatting.day(policy.createdAt))
        }
        return render("admin-policies", PoliciesPage(frame: admin.frame, policies: rows, hasPolicies: !rows.isEmpty,
                                                     measuresQuotas: quotaUsage != nil), status: status)
    }

    func changePolicies(_ admin: Admin, _ form: [String: String]) async throws -> Response {
        switch form["action"] {
        case "add-immutable":
            let spec = ["name": (form["name"] ?? "").trimmingCharacters(in: .whitespaces), "tag": (form["tag"] ?? "").trimmingCharacters(in: .whitespaces)]
            let comment = (form["comment"] ?? "").trimmingCharacters(in: .whitespaces)
            _ = try await PolicyKinds.add(kind: "immutable", spec: spec, comment: comment.isEmpty ? nil : comment, to: admin.accounts, by: admin.actor)
            return try await policiesPage(admin, notice: "Tags \(spec["tag"]!) of \(spec["name"]!) are immutable from now on.")
        case "add-retention":
            var spec = ["name": (form["name"] ?? "").trimmingCharacters(in: .whitespaces)]
            for key in ["keep_last", "keep_days", "keep_pulled_days", "keep_tag", "untagged_after"] {
                let value = (form[key] ?? "").trimmingCharacters(in: .whitespaces)
                if !value.isEmpty { spec[key] = value }
            }
            let comment = (form["comment"] ?? "").trimmingCharacters(in: .whitespaces)
            let added = try await PolicyKinds.add(kind: "retention", spec: spec, comment: comment.isEmpty ? nil : comment, to: admin.accounts, by: admin.actor)
            return try await policiesPage(admin, notice: "Retention applies to \(spec["name"]!) from its next run (\(added.summary)).")
        case "add-signed":
            let spec = ["name": (form["name"] ?? "").trimmingCharacters(in: .whitespaces),
                        "key": (form["key"] ?? "").replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines) + "\n"]
            let comment = (form["comment"] ?? "").trimmingCharacters(in: .whitespaces)
            _ = try await PolicyKinds.add(kind: "signed", spec: spec, comment: comment.isEmpty ? nil : comment, to: admin.accounts, by: admin.actor)
            return try await policiesPage(admin, notice: "Pulls of \(spec["name"]!) need a signature by a trusted key from now on.")
        case "set-quota":
            let namespace = (form["namespace"] ?? "").trimmingCharacters(in: .whitespaces)
            let size: ByteSize
            do { size = try ByteSize(parsing: form["size"] ?? "") } catch { throw AccountError.invalid("\(error)") }
            let comment = (form["comment"] ?? "").trimmingCharacters(in: .whitespaces)
            _ = try await PolicyKinds.add(kind: "quota", spec: ["namespace": namespace, "size": String(size.bytes)],
                                          comment: comment.isEmpty ? nil : comment, to: admin.accounts, by: admin.actor)
            return try await policiesPage(admin, notice: "Namespace \(namespace) may store \(size) from now on.")
        case "remove":
            let removed = try await admin.accounts.removeRepositoryPolicy(kind: form["kind"] ?? "", form["number"] ?? "", by: admin.actor)
            return try await policiesPage(admin, notice: "Removed the \(removed.kind) policy \(removed.summary).")
        default:
            throw AccountError.invalid("unknown action")
        }
    }
}

struct PoliciesPage {
    struct Row {
        var kind: String
        var number: Int
        var repositories: String
        var settings: String
        var usage: String
        var comment: String
        var added: String
    }
    var frame: PageFrame
    var policies: [Row]
    var hasPolicies: Bool
    var measuresQuotas: Bool
}
