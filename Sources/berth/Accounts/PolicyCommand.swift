import Accounts
import ArgumentParser
import Foundation
import Policies

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Repository policies (immutable tags…), kept beside the ACL and applied live by every replica.",
        subcommands: [Immutable.self, List.self, Remove.self])

    struct Immutable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tags that never move: a push that would point one at another image, or its delete, is refused.",
            subcommands: [Add.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make matching tags immutable (patterns as in ACL rules: globs or /regex/).",
                discussion: "Example: berth policy immutable add --name 'prod/*' --tag 'v*'")
            @OptionGroup var options: AccountsOptions
            @Option(help: "Repository pattern, e.g. 'prod/*'.") var name: String
            @Option(help: "Tag pattern, e.g. 'v*' or '/^v[0-9]+\\.[0-9]+\\.[0-9]+$/'.") var tag: String
            @Option(help: "Why (shown in listings).") var comment: String?

            func run() async throws {
                let spec = ["name": name, "tag": tag]
                try PolicyKinds.check(kind: "immutable", spec: spec)
                let record = try await options.withManager {
                    try await $0.addRepositoryPolicy(kind: "immutable", spec: spec, comment: comment, by: AccountsOptions.actor)
                }
                print("added immutable policy \(record.id): tags \(tag) of \(name)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the policies, numbered per kind.")
        @OptionGroup var options: AccountsOptions
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let policies = try await options.withManager { try await $0.repositoryPolicies() }
            if json { return try CLIOutput.json(policies) }
            var counts: [String: Int] = [:]
            CLIOutput.table(["KIND", "#", "SETTINGS", "ID", "COMMENT"], policies.map { policy in
                counts[policy.kind, default: 0] += 1
                return [policy.kind, String(counts[policy.kind]!), policy.summary, policy.id, policy.comment ?? ""]
            })
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a policy: berth policy rm KIND N (N from berth policy ls, or its id).")
        @OptionGroup var options: AccountsOptions
        @Argument(help: "The policy's kind, e.g. immutable.") var kind: String
        @Argument(help: "Its number among that kind (berth policy ls), or its id.") var which: String

        func run() async throws {
            let removed = try await options.withManager { try await $0.removeRepositoryPolicy(kind: kind, which, by: AccountsOptions.actor) }
            print("removed \(removed.kind) policy \(removed.id) (\(removed.summary))")
        }
    }
}
