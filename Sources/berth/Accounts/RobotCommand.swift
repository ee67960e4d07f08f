import Accounts
import ArgumentParser
import Foundation

struct RobotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robot",
        abstract: "Robot accounts for CI: log in as robot$NAME with the secret shown once; limited to their repositories.",
        subcommands: [Add.self, List.self, Remove.self, Rotate.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a robot and print its secret (only this once).")
        @OptionGroup var options: AccountsOptions
        @Argument var robot: String
        @Option(name: .customLong("name"), help: "Repository pattern the robot may use; repeat for several.") var repositories: [String] = []
        @Option(help: "pull,push,delete or '*'.") var actions: String
        @Option(help: "What the robot is for.") var description: String?
        @Option(help: "Last day the robot works (YYYY-MM-DD, UTC).") var expires: String?

        func run() async throws {
            let expiry = try expires.map(CLIDate.parse)
            let (record, secret) = try await options.withManager {
                try await $0.addRobot(robot, repositories: repositories, actions: actions.split(separator: ",").map(String.init),
                                      description: description, expiresAt: expiry, by: AccountsOptions.actor)
            }
            FileHandle.standardError.write(Data("Robot \(record.account) created. Its secret is shown only this once:\n".utf8))
            print(secret)
            FileHandle.standardError.write(Data("""
                Log in with it: echo "$SECRET" | docker login -u '\(record.account)' --password-stdin REGISTRY
                (in a script, capture it: SECRET=$(berth robot add …); only the secret goes to standard output)

                """.utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List robots (never their secrets).")
        @OptionGroup var options: AccountsOptions
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let robots = try await options.withManager { try await $0.robots() }
            if json {
                return try CLIOutput.json(robots.map(RobotView.init))
            }
            CLIOutput.table(["LOGIN", "REPOSITORIES", "ACTIONS", "EXPIRES", "LAST USED"], robots.map {
                [$0.account, $0.repositories.joined(separator: ","), $0.actions.joined(separator: ","),
                 $0.isActive() ? CLIDate.show($0.expiresAt) : "expired", CLIDate.show($0.lastUsedAt)]
            })
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a robot; its secret stops working at once.")
        @OptionGroup var options: AccountsOptions
        @Argument var robot: String

        func run() async throws {
            try await options.withManager { try await $0.removeRobot(robot, by: AccountsOptions.actor) }
            print("removed robot \(RobotRecord.accountPrefix)\(robot)")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a robot a new secret (printed once); the old one stops working.")
        @OptionGroup var options: AccountsOptions
        @Argument var robot: String

        func run() async throws {
            let secret = try await options.withManager { try await $0.rotateRobot(robot, by: AccountsOptions.actor) }
            print(secret)
        }
    }
}
