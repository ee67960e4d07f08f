import Accounts
import ArgumentParser
import Auth
import Foundation

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Accounts in the accounts database; changes apply to a running Berth at once.",
        subcommands: [Add.self, Passwd.self, Remove.self, List.self, Show.self, Label.self, Disable.self, Enable.self, Expire.self, Unlock.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an account (the password is prompted for, or read with --password-stdin).")
        @OptionGroup var options: AccountsOptions
        @Argument(help: "The account name.") var name: String
        @Flag(help: "Read the password from standard input.") var passwordStdin = false
        @Option(help: "A bcrypt hash instead of a password (from htpasswd -B or berth hash-password).") var passwordHash: String?
        @Option(name: .customLong("label"), help: "KEY=VALUE; repeat for several values or labels.") var labels: [String] = []
        @Option(help: "Last day the account works (YYYY-MM-DD, UTC) or an ISO 8601 time.") var expires: String?
        @Option(help: "bcrypt cost.") var cost: UInt8 = 10

        func run() async throws {
            let labels = try LabelOptions.parse(self.labels)
            let expiry = try expires.map(CLIDate.parse)
            let hash: String
            if let passwordHash {
                hash = passwordHash
            } else {
                hash = try await AccountStore.hashPassword(try PasswordInput.read(fromStandardInput: passwordStdin), cost: cost)
            }
            try await options.withManager { try await $0.addUser(name, passwordHash: hash, labels: labels, expiresAt: expiry, by: AccountsOptions.actor) }
            print("added user \(name)")
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set an account's password.")
        @OptionGroup var options: AccountsOptions
        @Argument var name: String
        @Flag(help: "Read the password from standard input.") var passwordStdin = false
        @Option(help: "bcrypt cost.") var cost: UInt8 = 10

        func run() async throws {
            let hash = try await AccountStore.hashPassword(try PasswordInput.read(fromStandardInput: passwordStdin), cost: cost)
            try await options.withManager { try await $0.setPassword(name, passwordHash: hash, by: AccountsOptions.actor) }
            print("password of \(name) changed")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an account; its refresh tokens stop working.")
        @OptionGroup var options: AccountsOptions
        @Argument var name: String

        func run() async throws {
            try await options.withManager { try await $0.removeUser(name, by: AccountsOptions.actor) }
            print("removed user \(name)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List accounts.")
        @OptionGroup var options: AccountsOptions
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let users = try await options.withManager { try await $0.users() }
            if json { return try CLIOutput.json(users.map(UserView.init)) }
            CLIOutput.table(["NAME", "STATE", "EXPIRES", "LABELS"], users.map { user in
                [user.name, user.disabled ? "disabled" : user.isActive() ? "active" : "expired", CLIDate.show(user.expiresAt),
                 LabelOptions.show(user.labels)]
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one account.")
        @OptionGroup var options: AccountsOptions
        @Argument var name: String
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            guard let user = try await options.withManager({ try await $0.user(name) }) else { throw CLIFailure("no user \(name)") }
            if json { return try CLIOutput.json(UserView(user)) }
            print("""
                name:     \(user.name)
                state:    \(user.disabled ? "disabled" : user.isActive() ? "active" : "expired")
                expires:  \(CLIDate.show(user.expiresAt))
                labels:   \(LabelOptions.show(user.labels))
                password: \(user.passwordHash == nil ? "none" : "set")
                created:  \(CLIDate.show(user.createdAt))
                updated:  \(CLIDate.show(user.updatedAt))
                """)
        }
    }

    struct Label: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set labels: each KEY=VALUE replaces that label's values (repeat a key for several); --remove drops a label.")
        @OptionGroup var options: AccountsOptions
        @Argument var name: String
        @Argument(help: "KEY=VALUE pairs.") var labels: [String] = []
        @Option(help: "Remove this label.") var remove: [String] = []
        @Flag(help: "Remove every label first.") var clear = false

        func run() async throws {
            let changes = try LabelOptions.parse(labels)
            let result = try await options.withManager { store in
                guard let user = try await store.user(name) else { throw CLIFailure("no user \(name)") }
                var labels = clear ? [:] : user.labels
                for key in remove { labels[key] = nil }
                labels.merge(changes) { _, new in new }
                try await store.setLabels(name, labels, by: AccountsOptions.actor)
                return labels
            }
            print("labels of \(name): \(LabelOptions.show(result))")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse the account's logins and refresh tokens until enabled again.")
        @OptionGroup var options: AccountsOptions
        @Argument var name: String

        func run() async throws {
            try await options.withManager { try await $0.setDisabled(name, true, by: AccountsOptions.actor) }
            print("disabled \(name)")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled account.")
        @OptionGroup var options: AccountsOptions
        @Argument var name: String

        func run() async throws {
            try await options.withManager { try await $0.setDisabled(name, false, by: AccountsOptions.actor) }
            print("enabled \(name)")
        }
    }

    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget the account's failed logins, so clients it locked out may try again (also robot$NAME).")
        @OptionGroup var options: AccountsOptions
        @Argument var name: String

        func run() async throws {
            try await options.withManager { try await $0.unlock(name, by: AccountsOptions.actor) }
            print("unlocked \(name): its earlier failed logins no longer count (every replica within its next poll)")
        }
    }

    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the last day the account works (YYYY-MM-DD, UTC), or `never`.")
        @OptionGroup var options: AccountsOptions
        @Argument var name: String
        @Argument var date: String

        func run() async throws {
            let expiry = date == "never" ? nil : try CLIDate.parse(date)
            try await options.withManager { try await $0.setExpiry(name, expiry, by: AccountsOptions.actor) }
            print("\(name) expires \(expiry.map { ISO8601DateFormatter().string(from: $0) } ?? "never")")
        }
    }
}
