import Accounts
import ArgumentParser
import Auth
import Foundation
import Logging

struct ACLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acl",
        abstract: "The ordered access rules in the accounts database (docker_auth's ACL: first match wins).",
        subcommands: [List.self, Add.self, Public.self, Remove.self, Move.self, Test.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the rules in evaluation order.")
        @OptionGroup var options: AccountsOptions
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let rules = try await options.withManager { try await $0.rules() }
            if json {
                return try CLIOutput.json(rules.map(RuleView.init))
            }
            CLIOutput.table(["#", "MATCH", "ACTIONS", "EXPIRES", "COMMENT"], rules.map { record in
                [String(record.position), record.rule.match.summary,
                 (record.rule.actions ?? []).isEmpty ? "(deny)" : record.rule.actions!.joined(separator: ","),
                 record.isActive() ? CLIDate.show(record.expiresAt) : "expired", record.rule.comment ?? ""]
            })
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a rule. Patterns are globs, or /regex/; ${account}, ${name}, ${labels:KEY} are substituted.",
            discussion: "An omitted match field matches anything. --account '' matches anonymous clients only (and lets them ask for tokens). --actions '' denies.")
        @OptionGroup var options: AccountsOptions
        @Option(help: "Account pattern.") var account: String?
        @Option(help: "Resource name pattern (the repository).") var name: String?
        @Option(help: "Resource type (repository, registry).") var type: String?
        @Option(help: "Service pattern.") var service: String?
        @Option(help: "Client address or CIDR range.") var ip: String?
        @Option(name: .customLong("label"), help: "KEY=PATTERN: the account must have a matching label value.") var labels: [String] = []
        @Option(help: "pull,push,delete or '*' (all asked) or '' (deny).") var actions: String
        @Option(help: "Why the rule exists.") var comment: String?
        @Option(help: "Insert at this position (from 1); default: last.") var position: Int?
        @Option(help: "Last day the rule applies (YYYY-MM-DD, UTC).") var expires: String?

        func run() async throws {
            var labelMatch: [String: String]?
            if !labels.isEmpty {
                labelMatch = try LabelOptions.parse(labels).mapValues { values in
                    guard values.count == 1 else { throw ValidationError("give each --label key once") }
                    return values[0]
                }
            }
            let rule = ACLRule(match: .init(account: account, type: type, name: name, ip: ip, service: service, labels: labelMatch),
                               actions: actions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                               comment: comment)
            let expiry = try expires.map(CLIDate.parse)
            let record = try await options.withManager { try await $0.addRule(rule, at: position, expiresAt: expiry, by: AccountsOptions.actor) }
            print("added rule #\(record.position): \(rule.match.summary) -> \((rule.actions ?? []).isEmpty ? "(deny)" : rule.actions!.joined(separator: ","))")
        }
    }

    /// docker_auth's rules are first-match and an `account: ""` rule matches anonymous
    /// clients only, so "everyone may pull" takes two rules: one that lets anonymous clients
    /// in, one for every signed-in account. Both go last, so rules written for an account
    /// (pushing to it, say) keep deciding for that account.
    struct Public: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let everyone pull repositories matching NAME-PATTERN, signed in or not.",
            discussion: """
                Adds two rules at the end: --account '' (anonymous clients) and --account '/.+/' (every signed-in \
                account), each granting pull on NAME-PATTERN. An account whose own earlier rule matches such a \
                repository gets what that rule says (first match wins), so give it pull there too.
                """)
        @OptionGroup var options: AccountsOptions
        @Argument(help: "Repository name pattern, e.g. 'public/*'.") var namePattern: String

        func run() async throws {
            let rules = [
                ACLRule(match: .init(account: "", type: "repository", name: namePattern), actions: ["pull"],
                        comment: "public: anonymous clients may pull"),
                ACLRule(match: .init(account: "/.+/", type: "repository", name: namePattern), actions: ["pull"],
                        comment: "public: every signed-in account may pull"),
            ]
            try await options.withManager { manager in
                for rule in rules {
                    let record = try await manager.addRule(rule, at: nil, expiresAt: nil, by: AccountsOptions.actor)
                    print("added rule #\(record.position): \(rule.match.summary) -> pull")
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove the rule at a position.")
        @OptionGroup var options: AccountsOptions
        @Argument var position: Int

        func run() async throws {
            try await options.withManager { try await $0.removeRule(at: position, by: AccountsOptions.actor) }
            print("removed rule #\(position)")
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a rule to another position.")
        @OptionGroup var options: AccountsOptions
        @Argument var from: Int
        @Argument var to: Int

        func run() async throws {
            try await options.withManager { try await $0.moveRule(from: from, to: to, by: AccountsOptions.actor) }
            print("moved rule #\(from) to #\(to)")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What ACCOUNT may do on REPOSITORY, and which rule decided: the same evaluation as a token request.")
        @OptionGroup var options: AccountsOptions
        @Argument(help: "The account ('' for anonymous).") var account: String
        @Argument(help: "The repository (or resource) name.") var repository: String
        @Argument(help: "Requested actions, e.g. pull,push.") var actions: String
        @Option(help: "Resource type.") var type = "repository"
        @Option(help: "Service the token is for.") var service = "Berth registry"
        @Option(help: "Client address.") var ip: String?
        @Option(name: .customLong("label"), help: "KEY=VALUE labels to use instead of the account's.") var labels: [String] = []
        @Flag(help: "JSON output.") var json = false

        struct Result: Encodable {
            var account: String
            var repository: String
            var requested: [String]
            var granted: [String]
            var decision: AccessDecision?
            var accountStatus: String?
        }

        func run() async throws {
            let staticConfig = try options.staticAuthConfiguration()
            let requested = actions.split(separator: ",").map(String.init)
            var logger = Logger(label: "berth")
            logger.logLevel = .warning
            if let remote = try options.remote() {
                let (decision, status) = try await remote.accessTest(account: account, repository: repository, actions: requested, type: type,
                                                                     service: service, labels: labels.isEmpty ? nil : try LabelOptions.parse(labels))
                return try report(decision, requested: requested, accountStatus: status)
            }
            let (decision, status): (AccessDecision?, String?) = try await options.withStore { store in
                let directory = try await AccountDirectory(store: store, logger: logger)
                var status = directory.snapshot.refusal(of: account)
                // An account LDAP or an external program may know cannot be judged from here.
                if status == nil, !account.isEmpty, !directory.snapshot.knows(account), staticConfig?.users?[account] == nil,
                   staticConfig?.ldap_auth == nil, staticConfig?.ext_auth == nil {
                    status = "unknown account"
                }
                var labels = try LabelOptions.parse(self.labels)
                if self.labels.isEmpty {
                    if let user = staticConfig?.users?[account] {
                        labels = user.labels ?? [:]
                    } else if let identity = try await directory.lookup(user: account) {
                        labels = identity.labels
                    }
                }
                var policies = directory.policies
                if let acl = staticConfig?.acl { policies.insert(try ACL(acl), at: 1) }
                return (try await PolicyChain(policies).decide(AccessRequest(
                    account: account, labels: labels, type: type, name: repository, service: service,
                    ip: try ip.map { text in
                        guard let address = IPAddress(text) else { throw ValidationError("invalid address \(text)") }
                        return address
                    }, actions: requested)), status)
            }
            try report(decision, requested: requested, accountStatus: status)
        }

        /// `accountStatus`: why the account gets nothing whatever the rules say (unknown,
        /// disabled, expired), nil when it may log in.
        func report(_ decision: AccessDecision?, requested: [String], accountStatus: String?) throws {
            // Only an account that may log in gets what the rules grant.
            let granted = accountStatus == nil ? decision?.actions ?? [] : []
            if json {
                return try CLIOutput.json(Result(account: account, repository: repository, requested: requested,
                                                 granted: granted, decision: decision, accountStatus: accountStatus))
            }
            print("granted: \(granted.isEmpty ? "(nothing)" : granted.joined(separator: ","))")
            if let decision {
                let rule = decision.rule.map { " rule #\($0)" } ?? ""
                print("decided by: \(decision.policy)\(rule)\(decision.comment.map { " (\($0))" } ?? "")")
            } else {
                print("decided by: no rule matched (nothing is granted)")
            }
            if let accountStatus {
                let name = CLIOutput.printable(account)
                print(accountStatus == "unknown account" ? "account: \(name) does not exist, so nothing is granted"
                      : "account: \(name) is \(accountStatus): its logins are refused whatever the rules say")
            }
        }
    }
}
