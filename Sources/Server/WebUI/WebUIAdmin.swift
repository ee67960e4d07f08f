import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI

/// The administration pages: users, ordered rules with "who may do what", robots and the
/// audit log, for signed-in visitors the policy grants `registry:admin:*` (as the admin
/// API). They change the accounts database through the same store as the CLI and the
/// admin API; each change is audited with the admin's name and address and applies to the
/// very next request.
extension WebUI {
    func registerAdmin(on root: RouterGroup<BerthRequestContext>) {
        registerUsers(on: root)
        root.get("ui/admin/rules") { request, context in try await adminPage(request, context) { try await rulesPage($0, request: request) } }
        root.post("ui/admin/rules") { request, context in
            try await adminChange(request, context, { try await changeRules($0, $1) },
                                  failed: { admin, _ in try await rulesPage(admin, request: nil, status: .badRequest) })
        }
        root.get("ui/admin/robots") { request, context in try await adminPage(request, context) { try await robotsPage($0) } }
        root.post("ui/admin/robots") { request, context in
            try await adminChange(request, context, { try await changeRobots($0, $1) },
                                  failed: { admin, _ in try await robotsPage(admin, status: .badRequest) })
        }
        root.get("ui/admin/audit") { request, context in try await adminPage(request, context) { try await auditPage($0, request: request) } }
    }

    struct Admin {
        var visitor: Visitor
        /// The registry's address as the browser reached it, for copy-ready commands.
        var host: String
        var accounts: AccountAdministration
        var directory: AccountDirectory { accounts.directory }
        var actor: AuditActor
        var frame: PageFrame
    }

    func isAdmin(_ visitor: Visitor) async -> Bool {
        guard visitor.session != nil, let identity = visitor.identity, case .token(let service, let serviceName) = access else { return false }
        let decision = try? await service.policy.decide(AccessRequest(
            account: identity.account, labels: identity.labels, type: "registry", name: "admin", service: serviceName,
            ip: visitor.address, actions: ["*"]))
        return decision?.actions.contains("*") == true
    }

    private func admin(_ request: Request, _ context: BerthRequestContext) async -> Admin? {
        let visitor = await visitor(request, context)
        guard let accounts, let session = visitor.session, visitor.isAdmin else { return nil }
        var frame = frame("Administration", visitor)
        frame.isAdmin = true
        return Admin(visitor: visitor, host: configuredHost ?? requestHost(request), accounts: accounts,
                     actor: AuditActor(session.account, address: context.clientAddress.map { "\($0)" }), frame: frame)
    }

    func adminPage(_ request: Request, _ context: BerthRequestContext, _ page: (Admin) async throws -> Response) async throws -> Response {
        guard let admin = await admin(request, context) else {
            let visitor = await visitor(request, context)
            return visitor.session == nil ? redirect(base + "/ui/login?next=" + request.uri.path)
                : forbidden("This page is for administrators; your account may not administer this registry.", visitor)
        }
        return try await page(admin)
    }

    /// A POST from an admin page: CSRF and admin right checked, the change made, then the
    /// page again with what happened (or, from `failed`, why not: the problem is in the frame).
    func adminChange(_ request: Request, _ context: BerthRequestContext,
                     _ change: (Admin, [String: String]) async throws -> Response,
                     failed page: (Admin, [String: String]) async throws -> Response) async throws -> Response {
        let form = Dictionary(try await formBody(request), uniquingKeysWith: { first, _ in first })
        guard let admin = await admin(request, context), let token = form["csrf"], ConstantTime.equal(token, admin.frame.csrf) else {
            return forbidden("That request did not come from an administration page of this site.")
        }
        do {
            return try await change(admin, form)
        } catch let error as AccountError {
            var failed = admin
            failed.frame.problem = error.description
            return try await page(failed, form)
        } catch let error as AuthError {
            var failed = admin
            failed.frame.problem = error.description
            return try await page(failed, form)
        }
    }

    // MARK: rules

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
        if !repository.isEmpty, case .token(let service, let serviceName) = access {
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

    // MARK: robots

    func robotsPage(_ admin: Admin, secret: (login: String, secret: String)? = nil, notice: String? = nil,
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        var admin = admin
        admin.frame.title = "Robots"
        admin.frame.notice = notice
        let rows = try await admin.accounts.robots().map { robot in
            AdminRobotsPage.Row(name: robot.name, login: robot.account, repositories: robot.repositories.joined(separator: " "),
                                actions: robot.actions.joined(separator: ","), expires: robot.expiresAt.map(Formatting.day) ?? "never",
                                lastUsed: robot.lastUsedAt.map(Formatting.time) ?? "never")
        }
        var response = render("admin-robots", AdminRobotsPage(frame: admin.frame, robots: rows, secret: secret?.secret, login: secret?.login, host: admin.host),
                              status: status)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    func changeRobots(_ admin: Admin, _ form: [String: String]) async throws -> Response {
        let accounts = admin.accounts
        let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
        switch form["action"] {
        case "add":
            let repositories = (form["repositories"] ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
            let actions = (form["actions"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let (record, secret) = try await accounts.addRobot(name, repositories: repositories, actions: actions, description: nil,
                                                               expiresAt: try Self.date(form["expires"]), by: admin.actor)
            return try await robotsPage(admin, secret: (record.account, secret), notice: "Created \(record.account).")
        case "rotate":
            let secret = try await accounts.rotateRobot(name, by: admin.actor)
            return try await robotsPage(admin, secret: (RobotRecord.accountPrefix + name, secret),
                                        notice: "New secret for \(RobotRecord.accountPrefix + name); the old one no longer works.")
        case "delete":
            try await accounts.removeRobot(name, by: admin.actor)
            return try await robotsPage(admin, notice: "Revoked \(RobotRecord.accountPrefix + name).")
        default:
            throw AccountError.invalid("unknown action")
        }
    }

    // MARK: audit

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

    // MARK: text

    /// `KEY=VALUE` pairs separated by spaces or commas; a repeated key collects values.
    static func labels(_ text: String) throws -> [String: [String]] {
        var labels: [String: [String]] = [:]
        for pair in text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\n" }) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { throw AccountError.invalid("labels are KEY=VALUE, got \(pair.prefix(64))") }
            labels[String(parts[0]), default: []].append(String(parts[1]))
        }
        return labels
    }

    static func date(_ text: String?) throws -> Date? {
        guard let text, !text.isEmpty else { return nil }
        guard let date = try? Date(text + "T23:59:59Z", strategy: .iso8601) else {
            throw AccountError.invalid("dates are YYYY-MM-DD, got \(text.prefix(32))")
        }
        return date
    }

}
