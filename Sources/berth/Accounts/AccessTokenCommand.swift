import Accounts
import ArgumentParser
import Auth
import Foundation

struct AccessTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Personal access tokens: generated passwords for docker login and scripts, optionally limited to some repositories, revocable one by one.",
        subcommands: [Create.self, List.self, Revoke.self])

    /// The account a command is about: `--user`, else (through `--registry`) the caller.
    static func account(_ user: String?, _ options: AccountsOptions) throws -> String {
        if let user { return user }
        if let remote = try options.remote() { return remote.username }
        throw ValidationError("say whose token with --user ACCOUNT (or use --registry, where it defaults to you)")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it (only this once).",
            discussion: """
                Without --scope the token has all of its account's rights (as its password would). Each --scope \
                limits it to some repositories: 'team/*:pull,push' (a pattern as in ACL rules, then pull, push, \
                delete or *); the account's rules still apply within them.
                """)
        @OptionGroup var options: AccountsOptions
        @Option(help: "What the token is for (unique per account).") var name: String
        @Option(help: "The token's account (default with --registry: the account you call the registry as).") var user: String?
        @Option(help: "Last day the token works (YYYY-MM-DD, UTC) or an ISO 8601 time.") var expires: String?
        @Option(help: "REPOSITORY-PATTERN:ACTIONS the token is limited to; repeat for several.") var scope: [String] = []

        func run() async throws {
            let expiry = try expires.map(CLIDate.parse)
            let scopes = try AccessTokenRecord.scopes(parsing: scope)
            let account = try AccessTokenCommand.account(user, options)
            let created = try await options.withManager {
                try await $0.createAccessToken(account: account, name: name, scopes: scopes, expiresAt: expiry, labels: nil,
                                               by: AccountsOptions.actor)
            }
            FileHandle.standardError.write(Data("Token \(created.token.name) (id \(created.token.id)) created for \(created.token.account). It is shown only this once:\n".utf8))
            print(created.secret)
            FileHandle.standardError.write(Data("""
                Log in with it: echo "$TOKEN" | docker login -u '\(created.token.account)' --password-stdin REGISTRY
                (in a script, capture it: TOKEN=$(berth token create …); only the token goes to standard output)

                """.utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List tokens (never the tokens themselves).")
        @OptionGroup var options: AccountsOptions
        @Option(help: "Only this account's tokens (default with --registry: yours).") var user: String?
        @Flag(help: "Every account's tokens.") var all = false
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let account = all ? nil : try AccessTokenCommand.account(user, options)
            let tokens = try await options.withManager { try await $0.accessTokens(account: account) }
            if json { return try CLIOutput.json(tokens) }
            CLIOutput.table(["ID", "ACCOUNT", "NAME", "SCOPES", "EXPIRES", "LAST USED"], tokens.map {
                [$0.id, $0.account, $0.name, $0.scopes?.joined(separator: " ") ?? "(all rights)",
                 $0.expired ? "expired" : CLIDate.show($0.expires), CLIDate.show($0.lastUsed)]
            })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token (by id or name); its next use is refused.")
        @OptionGroup var options: AccountsOptions
        @Argument(help: "The token's id or name.") var token: String
        @Option(help: "The token's account (default with --registry: yours).") var user: String?

        func run() async throws {
            let account = try AccessTokenCommand.account(user, options)
            let revoked = try await options.withManager { try await $0.revokeAccessToken(account: account, token: token, by: AccountsOptions.actor) }
            print("revoked token \(revoked.name) (id \(revoked.id)) of \(revoked.account)")
        }
    }
}
