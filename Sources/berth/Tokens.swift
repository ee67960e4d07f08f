import Accounts
import ArgumentParser
import Auth
import Foundation

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh-tokens",
        abstract: "Refresh tokens (what `docker login` keeps as its identity token), kept hashed in the accounts database.",
        subcommands: [List.self, Revoke.self],
        aliases: ["tokens"])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List refresh tokens by account (their ids are hashes, never the tokens).")
        @OptionGroup var options: AccountsOptions
        @Option(help: "Only this account's tokens.") var account: String?
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let tokens = try await options.withManager { try await $0.refreshTokens(account: account) }
            if json { return try CLIOutput.json(tokens) }
            CLIOutput.table(["ID", "ACCOUNT", "ISSUED", "CLIENT"], tokens.map {
                [String($0.id.prefix(12)), $0.account, CLIDate.show($0.issued), $0.client ?? "-"]
            })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke refresh tokens; their next use is refused.")
        @OptionGroup var options: AccountsOptions
        @Option(help: "Revoke the tokens of this account (all of them, unless --id names one).") var account: String?
        @Option(help: "Revoke the token whose id starts with this (from `berth tokens list`).") var id: String?
        @Option(help: "Revoke this token, given in full.") var token: String?

        func validate() throws {
            guard (account != nil) != (token != nil) else { throw ValidationError("give --account (with --id for one token) or --token") }
            if token != nil, id != nil { throw ValidationError("--id goes with --account, not --token") }
        }

        func run() async throws {
            let revoked = try await options.withManager { manager -> Int in
                if let token {
                    let id = RefreshTokens.id(of: token)
                    guard let owner = try await manager.refreshTokens(account: nil).first(where: { $0.id == id })?.account else {
                        throw CLIFailure("no such refresh token")
                    }
                    return try await manager.revokeRefreshTokens(account: owner, idPrefix: id, by: AccountsOptions.actor)
                }
                return try await manager.revokeRefreshTokens(account: account!, idPrefix: id, by: AccountsOptions.actor)
            }
            print("revoked \(revoked) refresh token\(revoked == 1 ? "" : "s")")
        }
    }
}
