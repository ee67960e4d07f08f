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
        guard visitor.session != nil, let identity = visitor.identity, access.hasAccounts else { return false }
        return await access.granted(identity, AdminAccessMiddleware.scope, address: visitor.address).contains("*")
    }

    private func admin(_ request: Request, _ context: BerthRequestContext) -> Admin? {
        let visitor = context.visitor ?? .nobody
        guard let accounts, let session = visitor.session, visitor.isAdmin else { return nil }
        var frame = frame("Administration", visitor)
        frame.isAdmin = true
        return Admin(visitor: visitor, host: configuredHost ?? requestHost(request), accounts: accounts,
                     actor: AuditActor(session.account, address: context.clientAddress.map { "\($0)" }), frame: frame)
    }

    func adminPage(_ request: Request, _ context: BerthRequestContext, _ page: (Admin) async throws -> Response) async throws -> Response {
        guard let admin = admin(request, context) else {
            let visitor = context.visitor ?? .nobody
            return visitor.session == nil ? redirect(base + "/ui/login?next=" + request.uri.path)
                : forbidden("This page is for administrators; your account may not administer this registry.", visitor)
        }
        return try await page(admin)
    }

    /// A POST from an admin page (its CSRF token already checked by `WebFormMiddleware`): the
    /// admin right checked, the change made, then the page again with what happened (or,
    /// from `failed`, why not: the problem is in the frame).
    func adminChange(_ request: Request, _ context: BerthRequestContext,
                     _ change: (Admin, [String: String]) async throws -> Response,
                     failed page: (Admin, [String: String]) async throws -> Response) async throws -> Response {
        let form = context.form?.dictionary ?? [:]
        guard let admin = admin(request, context) else {
            return forbidden("Only administrators may change this.", context.visitor ?? .nobody)
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
