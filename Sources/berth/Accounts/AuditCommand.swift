import Accounts
import ArgumentParser
import Foundation

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The audit log: every change to accounts, rules and robots, and logins (newest first).")
    @OptionGroup var options: AccountsOptions
    @Option(help: "Only entries by or about this account.") var account: String?
    @Option(help: "Only this action or family (login, user, acl, robot, user.add…).") var action: String?
    @Option(help: "At most this many entries.") var limit = 100
    @Option(help: "Only entries older than this cursor (printed after a full page), to page back through the log.") var before: String?
    @Flag(help: "JSON output.") var json = false

    func run() async throws {
        let cursor = try before.map { text -> AuditCursor in
            guard let cursor = AuditCursor(text) else { throw ValidationError("--before takes the cursor a previous page printed") }
            return cursor
        }
        let entries = try await options.withManager { try await $0.audit(limit: limit, account: account, action: action, before: cursor) }
        if json { return try CLIOutput.json(entries) }
        CLIOutput.table(["TIME", "ACTOR", "ACTION", "TARGET", "FROM", "RESULT", "DETAIL"], entries.map {
            [CLIDate.show($0.at), $0.actor, $0.action, $0.target, $0.address ?? "-",
             ($0.success ? "ok" : "refused") + ($0.count.map { " ×\($0)" } ?? ""), $0.detail ?? ""]
        })
        if entries.count == limit, let last = entries.last {
            print("older entries: berth audit --before \(AuditCursor(after: last).text)")
        }
    }
}
