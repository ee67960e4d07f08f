import ArgumentParser
import Auth
import Foundation

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Refresh tokens (what `docker login` keeps as its identity token).",
        subcommands: [List.self, Revoke.self])

    struct Options: ParsableArguments {
        @Option(help: "The data directory of `berth serve` (its storage root).")
        var data = "./data"

        var directory: String { data + "/berth/refresh-tokens" }

        func records() throws -> [(id: String, record: RefreshTokenRecord)] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return names.sorted().compactMap { name in
                guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                      let record = try? decoder.decode(RefreshTokenRecord.self, from: data) else { return nil }
                return (name, record)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List refresh tokens by account (never the tokens themselves).")
        @OptionGroup var options: Options

        func run() throws {
            for (id, record) in try options.records() {
                print("\(id.prefix(12))  \(record.account)  \(record.issuedAt.formatted(.iso8601))  \(record.clientID ?? "-")")
            }
        }
    }

    struct Revoke: ParsableCommand {
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

        func run() throws {
            let hashed = token.map(RefreshTokens.id(of:))
            var revoked = 0
            for (name, record) in try options.records()
            where record.account == account || (id.map { name.hasPrefix($0) } ?? false) || name == hashed {
                try FileManager.default.removeItem(atPath: options.directory + "/" + name)
                revoked += 1
            }
            print("revoked \(revoked) refresh token\(revoked == 1 ? "" : "s")")
        }
    }
}
