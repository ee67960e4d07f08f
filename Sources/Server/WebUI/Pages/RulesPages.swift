import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// The ordered rules: add, edit in place, move, delete, and "who may do what" against the real policy.
extension WebUI {
    func registerRules(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/admin/rules") { request, context in try await adminPage(request, context) { try await rulesPage($0, request: request) } }
        pages.post("ui/admin/rules") { request, context in
            try await adminChange(request, context, { try await changeRules($0, $1) },
                                  failed: { admin, _ in try await rulesPage(admin, request: nil, status: .badRequest) })
        }
    }

    func rulesPage(_ admin: Admin, request: Request?, notice: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        var admin = admin
        admin.frame.title = "Rules"
        admin.frame.notice = notice
        let records = try await admin.accounts.rules()
        var editing: AdminRulesPage.Editing?
        if let position = request?.uri.queryParameters["edit"].flatMap({ Int(String($0)) }),
           let record = records.first(where: { $0.position == position }) {
            let match = record.rule.match
            editing = .init(position: position, account: match.account ?? "", name: match.name ?? "", type: match.type ?? "",
                            ip: match.ip ?? "", service: match.service ?? "",
                            labels: (match.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
                            actions: record.rule.actions?.joined(separator: ",") ?? "", comment: record.rule.comment ?? "",
                            expires: record.expiresAt.map(Formatting.day) ?? "")
        }
        let rows = records.map { record in
            AdminRulesPage.Row(position: record.position, match: record.rule.match.summary,
                               actions: record.rule.actions.map { $0.isEmpty ? "(nothing)" : $0.joined(separator: ",") } ?? "(nothing)",
                               comment: record.rule.comment ?? "", expires: record.expiresAt.map(Formatting.day) ?? "")
        }
        let query = request?.uri.queryParameters
        let account = String((query?["account"].map(String.init) ?? "").prefix(256))
        let repository = String((query?["repository"].map(String.init) ?? "").prefix(256))
        let actions = String((query?["actions"].map(String.init) ?? "pull,push").prefix(128))
        var answer: AdminRulesPage.Answer?
        if !repository.isEmpty, let service = access.accounts?.tokenService, let serviceName = access.accounts?.gate.service {
            let labels = (try? await admin.directory.lookup(user: account))?.labels ?? [:]
            let wanted = actions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let decision = try? await service.policy.decide(AccessRequest(
                account: account, labels: labels, type: "repository", name: repository, service: serviceName, actions: wanted))
            let granted = decision?.actions ?? []
            let decidedBy = decision.map { d in
                "decided by \(d.policy)" + (d.rule.map { " rule #\($0)" } ?? "") + (d.comment.map { " (\($0))" } ?? "")
            } ?? "no rule matches: nothing is granted"
            answer = .init(granted: granted.isEmpty ? "nothing" : granted.joined(separator: ","), decidedBy: decidedBy)
        }
        return render("admin-rules", AdminRulesPage(frame: admin.frame, rules: rows, editing: editing, testAccount: account, testRepository: repository,
                                                    testActions: actions, answer: answer), status: status)
    }

    func changeRules(_ admin: Admin, _ form: [String: String]) async throws -> Response {
        let accounts = admin.accounts
        let position = Int(form["position"] ?? "")
        let notice: String
        switch form["action"] {
        case "add":
            let record = try await accounts.addRule(try Self.rule(form), at: position, expiresAt: try Self.date(form["expires"]), by: admin.actor)
            notice = "Added rule #\(record.position)."
        case "replace":
            let count = try await accounts.rules().count
            guard let position, (1...count).contains(position) else { throw AccountError.invalid("there is no such rule") }
            try await accounts.replaceRule(at: position, with: try Self.rule(form), expiresAt: try Self.date(form["expires"]), by: admin.actor)
            notice = "Changed rule #\(position)."
        case "up", "down":
            let count = try await accounts.rules().count
            guard let position, (1...count).contains(position) else { throw AccountError.invalid("there is no such rule") }
            let target = form["action"] == "up" ? position - 1 : position + 1
            guard (1...count).contains(target) else { return try await rulesPage(admin, request: nil) }
            try await accounts.moveRule(from: position, to: target, by: admin.actor)
            notice = "Moved rule #\(position) to #\(target)."
        case "delete":
            guard let position else { throw AccountError.invalid("which rule?") }
            try await accounts.removeRule(at: position, by: admin.actor)
            notice = "Deleted rule #\(position)."
        default:
            throw AccountError.invalid("unknown action")
        }
        return try await rulesPage(admin, request: nil, notice: notice)
    }

    /// A rule from the add or edit form.
    static func rule(_ form: [String: String]) throws -> ACLRule {
        func pattern(_ key: String) -> String? {
            let value = (form[key] ?? "").trimmingCharacters(in: .whitespaces)
            return value.isEmpty ? nil : value
        }
        let labelPatterns = try labels(form["labels"] ?? "").mapValues { $0.last ?? "" }
        let actionsText = (form["actions"] ?? "").trimmingCharacters(in: .whitespaces)
        let actions = actionsText.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return ACLRule(match: .init(account: pattern("account"), type: pattern("type"), name: pattern("name"), ip: pattern("ip"),
                                    service: pattern("service"), labels: labelPatterns.isEmpty ? nil : labelPatterns),
                       actions: actions, comment: pattern("comment"))
    }
}

struct AdminRulesPage {
    struct Row { var position: Int; var match: String; var actions: String; var comment: String; var expires: String }
    struct Answer { var granted: String; var decidedBy: String }
    /// A rule's fields as the edit form shows them.
    struct Editing {
        var position: Int
        var account = "", name = "", type = "", ip = "", service = "", labels = "", actions = "", comment = "", expires = ""
    }
    var frame: PageFrame
    var rules: [Row]
    var editing: Editing?
    var testAccount: String
    var testRepository: String
    var testActions: String
    var answer: Answer?
}
