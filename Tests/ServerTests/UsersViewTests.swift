@testable import Server
import Accounts
import Foundation
import Testing

/// The users table and a user's page as view models: what each line and fact says, without
/// a browser (the pages themselves are exercised in Chromium by Tests/e2e/webui.py).
@Suite struct UsersViewTests {
    static let now = Date(timeIntervalSince1970: 1_796_486_400)  // 2026-12-05 16:00 UTC
    static let frame = PageFrame(title: "Users", base: "/registry", signedIn: true, account: "admin", csrf: "t", readOnly: false, deletesOff: false)

    static func user(_ name: String, disabled: Bool = false, expires: Date? = nil, lastLogin: Date? = nil, password: Bool = true) -> UserRecord {
        UserRecord(name: name, passwordHash: password ? "$2y$10$x" : nil, labels: ["team": ["ops", "build"], "tier": ["gold"]], disabled: disabled,
                   expiresAt: expires, createdAt: Date(timeIntervalSince1970: 1_767_225_600), updatedAt: now, lastLoginAt: lastLogin)
    }

    @Test func oneLinePerUserWithItsStateDatesAndLabels() {
        let page = AdminUsersPage(frame: Self.frame, users: [
            Self.user("admin", lastLogin: Self.now),
            Self.user("gone", expires: Self.now.addingTimeInterval(-86400)),
            Self.user("off", disabled: true),
            Self.user("ldap-only", password: false),
        ], now: Self.now)
        #expect(page.users.map(\.state) == ["active", "expired", "disabled", "active (no password)"])
        #expect(page.users[0].lastLogin == "2026-12-05 16:00 UTC" && page.users[1].lastLogin == "never")
        #expect(page.users[0].created == "2026-01-01" && page.users[0].expires == "never" && page.users[1].expires == "2026-12-04")
        #expect(page.users[0].labels == "team=ops team=build tier=gold")
        #expect(page.summary == "4 users, 1 disabled, 1 expired")
        #expect(AdminUsersPage(frame: Self.frame, users: [Self.user("one")], now: Self.now).summary == "1 user")
    }

    @Test func namesAreLinkedSafely() {
        let page = AdminUsersPage(frame: Self.frame, users: [Self.user("jane.doe@example.com"), Self.user("team/ci"), Self.user("a?b#c&d")], now: Self.now)
        #expect(page.users.map(\.link) == ["/registry/ui/admin/users/jane.doe@example.com", "/registry/ui/admin/users/team%2Fci",
                                           "/registry/ui/admin/users/a%3Fb%23c%26d"])
        let user = AdminUserPage(frame: Self.frame, user: Self.user("a?b&c/d"), tokens: 0, isSelf: false, now: Self.now)
        #expect(user.tokensLink == "/registry/ui/admin/tokens?account=a%3Fb%26c%2Fd")
        #expect(user.auditLink == "/registry/ui/admin/audit?account=a%3Fb%26c%2Fd")
    }

    @Test func aUsersPageSaysWhatItHoldsAndNeverOffersToDeleteOneself() {
        let page = AdminUserPage(frame: Self.frame, user: Self.user("ci", expires: Self.now.addingTimeInterval(86400), lastLogin: Self.now),
                                 tokens: 1, isSelf: false, confirmingDelete: true, now: Self.now)
        #expect(page.state == "active" && page.expires == "2026-12-06" && page.expiresValue == "2026-12-06")
        #expect(page.tokens == "1 refresh token or session" && page.lastLogin == "2026-12-05 16:00 UTC")
        #expect(page.confirmingDelete && !page.disabled)
        let two = AdminUserPage(frame: Self.frame, user: Self.user("ci"), tokens: 2, isSelf: false, now: Self.now)
        #expect(two.tokens == "2 refresh tokens and sessions" && two.expiresValue == "" && !two.confirmingDelete)
        let me = AdminUserPage(frame: Self.frame, user: Self.user("admin"), tokens: 0, isSelf: true, confirmingDelete: true, now: Self.now)
        #expect(me.isSelf && !me.confirmingDelete)
    }

    @Test func oneDateFormat() {
        #expect(Formatting.time(Self.now) == "2026-12-05 16:00 UTC")
        #expect(Formatting.day(Self.now) == "2026-12-05")
        #expect(Formatting.instant("2026-12-05T16:00:00.123456789Z") == "2026-12-05 16:00 UTC")
        #expect(Formatting.instant("2026-12-05T17:30:00+01:00") == "2026-12-05 16:30 UTC")
        #expect(Formatting.instant("yesterday") == "yesterday")
    }
}
