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
    @Flag(help: "JSON output.") var json = false

    func run() async throws {
        let entries = try await options.withManager { try await $0.audit(limit: limit, account: account, action: action) }
        if json { return try CLIOutput.json(entries) }
        CLIOutput.table(["TIME", "ACTOR", "ACTION", "TARGET", "FROM", "RESULT", "DETAIL"], entries.map {
            [CLIDate.show($0.at), $0.actor, $0.action, $0.target, $0.address ?? "-", $0.success ? "ok" : "refused", $0.detail ?? ""]
        })
    }
}
