import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// Robot accounts for CI: created with a secret shown once, rotated, revoked.
extension WebUI {
    func registerRobots(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/admin/robots") { request, context in try await adminPage(request, context) { try await robotsPage($0) } }
        pages.post("ui/admin/robots") { request, context in
            try await adminChange(request, context, { try await changeRobots($0, $1) },
                                  failed: { admin, _ in try await robotsPage(admin, status: .badRequest) })
        }
    }

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
}

struct AdminRobotsPage {
    struct Row { var name: String; var login: String; var repositories: String; var actions: String; var expires: String; var lastUsed: String }
    var frame: PageFrame
    var robots: [Row]
    var secret: String?
    var login: String?
    var host: String
}
