import ArgumentParser
import Auth
import Foundation
import Server
import Storage

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Refresh tokens (what `docker login` keeps as its identity token).",
        subcommands: [List.self, Revoke.self])

    struct Options: ParsableArguments {
        @Option(help: "The data directory of `berth serve` (its storage root).")
        var data = "./data"

        func store() throws -> StorageRefreshTokenStore {
            StorageRefreshTokenStore(driver: try FilesystemDriver(rootDirectory: data))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List refresh tokens by account (never the tokens themselves).")
        @OptionGroup var options: Options

        func run() async throws {
            for (id, record) in try await options.store().all() {
                print("\(id.prefix(12))  \(record.account)  \(record.issuedAt.formatted(.iso8601))  \(record.clientID ?? "-")")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke refresh tokens; the next use is refused.")
        @OptionGroup var options: Options
        @Option(help: "Revoke every token of this account.") var account: String?
        @Option(help: "Revoke the token with this id prefix (from `berth tokens list`).") var id: String?
        @Option(help: "Revoke this token, given in full.") var token: String?

        func validate() throws {
            guard [account, id, token].compactMap({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --account, --id or --token")
            }
            if let id, id.count < 8 { throw ValidationError("--id needs at least 8 characters") }
        }

        func run() async throws {
            let store = try options.store()
            let hashed = token.map(RefreshTokens.id(of:))
            var revoked = 0
            for (tokenID, record) in try await store.all()
            where record.account == account || (id.map { tokenID.hasPrefix($0) } ?? false) || tokenID == hashed {
                try await store.delete(id: tokenID)
                revoked += 1
            }
            print("revoked \(revoked) refresh token\(revoked == 1 ? "" : "s")")
        }
    }
}
