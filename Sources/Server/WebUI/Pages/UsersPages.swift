import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI

/// The users table and one page per user, where that user's actions are (as Harbor has
/// them): add, labels and expiry, password, disable/enable, sign out everywhere, unlock,
/// delete after a confirmation. Each change goes through `AccountAdministration`, so it
/// applies to the very next request, and is audited with the admin's name and address.
extension WebUI {
    func registerUsers(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/admin/users") { request, context in try await adminPage(request, context) { try await usersPage($0) } }
        pages.post("ui/admin/users") { request, context in
            try await adminChange(request, context, { try await addUser($0, $1) },
                                  failed: { admin, form in try await usersPage(admin, keeping: form, status: .badRequest) })
        }
        pages.get("ui/admin/users/**") { request, context in
            try await adminPage(request, context) { admin in
                try await userPage(admin, userName(request), confirmingDelete: request.uri.queryParameters["confirm"] == "delete")
            }
        }
        pages.post("ui/admin/users/**") { request, context in
            let name = userName(request)
            return try await adminChange(request, context, { try await changeUser($0, name, $1) },
                                         failed: { admin, _ in try await userPage(admin, name, status: .badRequest) })
        }
    }

    /// The account named by the rest of the path (names may hold `/` and `@`).
    func userName(_ request: Request) -> String {
        AccountName.canonical(PercentDecoding.decode(String(request.uri.path.dropFirst((base + "/ui/admin/users/").count))))
    }

    func usersPage(_ admin: Admin, notice: String? = nil, keeping form: [String: String]? = nil,
                   status: HTTPResponse.Status = .ok) async throws -> Response {
        var frame = admin.frame
        frame.title = "Users"
        frame.notice = notice
        var page = AdminUsersPage(frame: frame, users: try await admin.accounts.users())
        if let form {
            page.newName = form["name"] ?? ""
            page.newLabels = form["labels"] ?? ""
            page.newExpires = form["expires"] ?? ""
        }
        return render("admin-users", page, status: status)
    }

    func userPage(_ admin: Admin, _ name: String, notice: String? = nil, confirmingDelete: Bool = false,
                  status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let user = try await admin.accounts.user(name) else {
            return render("message", MessagePage(frame: admin.frame, heading: "No such user",
                                                 message: "There is no user \(name) (it may have just been deleted)."), status: .notFound)
        }
        var frame = admin.frame
        frame.title = user.name
        frame.notice = notice
        let tokens = try await admin.accounts.refreshTokens(account: user.name).count
        return render("admin-user", AdminUserPage(frame: frame, user: user, tokens: tokens, isSelf: user.name == admin.actor.name,
                                                  confirmingDelete: confirmingDelete), status: status)
    }

    func addUser(_ admin: Admin, _ form: [String: String]) async throws -> Response {
        guard form["action"] == "add" else { throw AccountError.invalid("unknown action") }
        let name = AccountName.canonical((form["name"] ?? "").trimmingCharacters(in: .whitespaces))
        let hash = try await AccountStore.hashPassword(form["password"] ?? "")
        try await admin.accounts.addUser(name, passwordHash: hash, labels: try Self.labels(form["labels"] ?? ""),
                                         expiresAt: try Self.date(form["expires"]), by: admin.actor)
        return try await userPage(admin, name, notice: "Added \(name). It can sign in now; give it rights on the Rules page.")
    }

    func changeUser(_ admin: Admin, _ name: String, _ form: [String: String]) async throws -> Response {
        let accounts = admin.accounts
        let notice: String
        switch form["action"] {
        case "disable":
            try await accounts.setDisabled(name, true, by: admin.actor)
            notice = "Disabled \(name): its logins, refresh tokens and sessions stopped working."
        case "enable":
            try await accounts.setDisabled(name, false, by: admin.actor)
            notice = "Enabled \(name). It signs in again with its password; earlier tokens stay revoked."
        case "password":
            try await accounts.setPassword(name, passwordHash: try await AccountStore.hashPassword(form["password"] ?? ""), by: admin.actor)
            notice = "Set a new password for \(name); its refresh tokens and sessions were revoked."
        case "update":
            // An empty expiry field clears the expiry.
            try await accounts.updateUser(name, passwordHash: nil, labels: try Self.labels(form["labels"] ?? ""), disabled: nil,
                                          expiry: .some(try Self.date(form["expires"])), by: admin.actor)
            notice = "Saved the labels and expiry of \(name)."
        case "revoke-tokens":
            let count = try await accounts.revokeRefreshTokens(account: name, by: admin.actor)
            notice = "Signed \(name) out everywhere: \(Formatting.count(count, "refresh token or session", plural: "refresh tokens and sessions")) revoked."
        case "unlock":
            try await accounts.unlock(name, by: admin.actor)
            notice = "Unlocked \(name): its earlier failed logins no longer count."
        case "delete":
            guard name != admin.actor.name else { throw AccountError.invalid("you cannot delete your own account here") }
            try await accounts.removeUser(name, by: admin.actor)
            return try await usersPage(admin, notice: "Deleted \(name), with its refresh tokens and sessions. Rules that name it stay.")
        default:
            throw AccountError.invalid("unknown action")
        }
        return try await userPage(admin, name, notice: notice)
    }
}
