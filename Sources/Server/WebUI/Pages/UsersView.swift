import Accounts
import Foundation

/// The users table: one line per account with what an admin scans for (state, labels,
/// expiry, creation, last sign-in); every action is on the user's own page.
struct AdminUsersPage {
    struct Row {
        var name: String
        var link: String
        var state: String
        var labels: String
        var expires: String
        var created: String
        var lastLogin: String
    }
    var frame: PageFrame
    var users: [Row]
    var summary: String
    /// The add form keeps what was typed when adding failed (never the password).
    var newName = ""
    var newLabels = ""
    var newExpires = ""

    init(frame: PageFrame, users: [UserRecord], now: Date = Date()) {
        self.frame = frame
        self.users = users.map { user in
            Row(name: user.name, link: AdminUserPage.link(frame.base, user.name), state: AdminUserPage.state(user, now: now),
                labels: AdminUserPage.labelText(user.labels), expires: user.expiresAt.map(Formatting.day) ?? "never",
                created: Formatting.day(user.createdAt), lastLogin: user.lastLoginAt.map(Formatting.time) ?? "never")
        }
        let disabled = users.filter(\.disabled).count
        let expired = users.filter { !$0.disabled && !$0.isActive(at: now) }.count
        summary = Formatting.count(users.count, "user") + (disabled > 0 ? ", \(disabled) disabled" : "") + (expired > 0 ? ", \(expired) expired" : "")
    }
}

/// One user's page: its facts and, each in its own section, what an admin may do to it.
struct AdminUserPage {
    var frame: PageFrame
    var name: String
    /// The page's own address (percent-encoded), which its forms post to.
    var link: String
    var state: String
    var disabled: Bool
    var labels: String
    var expires: String
    /// The expiry as the date input wants it (empty: never).
    var expiresValue: String
    var created: String
    var updated: String
    var lastLogin: String
    var tokens: String
    var tokensLink: String
    var auditLink: String
    var rulesLink: String
    var isSelf: Bool
    /// The delete section asks once more before the button that deletes.
    var confirmingDelete: Bool

    init(frame: PageFrame, user: UserRecord, tokens: Int, isSelf: Bool, confirmingDelete: Bool = false, now: Date = Date()) {
        self.frame = frame
        name = user.name
        link = Self.link(frame.base, user.name)
        state = Self.state(user, now: now)
        disabled = user.disabled
        labels = Self.labelText(user.labels)
        expires = user.expiresAt.map(Formatting.day) ?? "never"
        expiresValue = user.expiresAt.map(Formatting.day) ?? ""
        created = Formatting.time(user.createdAt)
        updated = Formatting.time(user.updatedAt)
        lastLogin = user.lastLoginAt.map(Formatting.time) ?? "never"
        self.tokens = Formatting.count(tokens, "refresh token or session", plural: "refresh tokens and sessions")
        let query = Self.queryValue(user.name)
        tokensLink = frame.base + "/ui/admin/tokens?account=" + query
        auditLink = frame.base + "/ui/admin/audit?account=" + query
        rulesLink = frame.base + "/ui/admin/rules?account=" + query + "&repository=&actions=pull,push#test"
        self.isSelf = isSelf
        self.confirmingDelete = confirmingDelete && !isSelf
    }

    /// One path segment whatever the name holds (`/` encoded): a name such as `ci/../admin`
    /// must not become a page, or a form's target, of another user.
    static func link(_ base: String, _ name: String) -> String {
        base + "/ui/admin/users/" + (name.addingPercentEncoding(withAllowedCharacters: pathCharacters.subtracting(CharacterSet(charactersIn: "/"))) ?? name)
    }

    static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: pathCharacters.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }

    private static let pathCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~@/"))

    static func state(_ user: UserRecord, now: Date) -> String {
        if user.disabled { return "disabled" }
        if !user.isActive(at: now) { return "expired" }
        return user.passwordHash == nil ? "active (no password)" : "active"
    }

    static func labelText(_ labels: [String: [String]]) -> String {
        labels.keys.sorted().flatMap { key in labels[key]!.map { "\(key)=\($0)" } }.joined(separator: " ")
    }
}
