import Accounts
import ArgumentParser
import Foundation
import Logging
import OCI
import Assembly
import Storage
import Policies

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Repository policies (immutable tags…), kept beside the ACL and applied live by every replica.",
        subcommands: [Immutable.self, RetentionCommand.self, QuotaCommand.self, SignedCommand.self, List.self, Remove.self])

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
                    try await PolicyKinds.add(kind: "immutable", spec: spec, comment: comment, to: $0, by: AccountsOptions.actor)
                }
                print("added immutable policy \(record.id): tags \(tag) of \(name)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the policies, numbered per kind, with what each quota's namespace uses.")
        @OptionGroup var options: AccountsOptions
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let policies = try await options.withManager { try await $0.repositoryPolicies() }
            let quotas = policies.contains { $0.kind == "quota" } ? try await quotaUsage(policies) : []
            if json {
                return try CLIOutput.json(policies.map { policy in
                    Listed(record: policy, usage: policy.kind == "quota" ? quotas.first { $0.namespace == policy.spec["namespace"] } : nil)
                })
            }
            var counts: [String: Int] = [:]
            CLIOutput.table(["KIND", "#", "SETTINGS", "USES", "ID", "COMMENT"], policies.map { policy in
                counts[policy.kind, default: 0] += 1
                let uses = policy.kind == "quota" ? quotas.first { $0.namespace == policy.spec["namespace"] }?.summary ?? "" : ""
                var shown = policy
                if policy.kind == "quota", let size = policy.spec["size"].flatMap(Int64.init) { shown.spec["size"] = ByteSize(bytes: size).description }
                return [policy.kind, String(counts[policy.kind]!), shown.summary, uses, policy.id, policy.comment ?? ""]
            })
        }

        /// A policy as listed: its record, and for a quota what its namespace uses.
        struct Listed: Encodable {
            var record: RepositoryPolicyRecord
            var usage: QuotaUsage?

            enum Key: String, CodingKey { case usage }

            func encode(to encoder: any Encoder) throws {
                try record.encode(to: encoder)
                var container = encoder.container(keyedBy: Key.self)
                try container.encodeIfPresent(usage, forKey: .usage)
            }
        }

        /// From the running server (--registry), or measured on the storage of --config or --data.
        func quotaUsage(_ policies: [RepositoryPolicyRecord]) async throws -> [QuotaUsage] {
            if let remote = try options.remote() { return try await remote.quotaUsage() }
            var configuration = try ConfigLoading.load(options.effectiveConfig)
            if let data = options.data { configuration.storage = .filesystem(rootDirectory: data) }
            if case .inMemory = configuration.storage { return [] }
            let store = try BerthServer.makeStore(configuration, logger: Logger(label: "berth"))
            return await QuotaUsage.report(policies, usage: NamespaceUsage(store: store))
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

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Keep the newest or recent tags of matching repositories; untag the rest; delete manifests left untagged.",
        subcommands: [Add.self, Run.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a retention policy (at least one of --keep-last, --keep-days, --keep-pulled-days, --untagged-after).",
            discussion: """
                Kept in each matching repository: the newest --keep-last tags by push time, those pushed within \
                --keep-days, those pulled within --keep-pulled-days (a tag not pulled since the policy was added \
                counts from then), those matching --keep-tag, and immutable tags; the other tags are removed. With \
                --untagged-after, manifests without tags (not in an index, not a referrer of a kept one) are deleted \
                that long after they lost their last tag; `berth gc` then frees their blobs. Runs inside serve \
                (storage.maintenance.retention.interval, default daily) and with `berth policy retention run`.
                """)
        @OptionGroup var options: AccountsOptions
        @Option(help: "Repository pattern, e.g. 'ci/*'.") var name: String
        @Option(help: "Keep the newest N tags.") var keepLast: Int?
        @Option(help: "Keep tags pushed within D days.") var keepDays: Double?
        @Option(help: "Keep tags pulled within D days (pulls are recorded from when the policy is added).") var keepPulledDays: Double?
        @Option(help: "Keep tags matching this pattern, e.g. 'release-*'.") var keepTag: String?
        @Option(help: "Delete untagged manifests this long after they lost their last tag (e.g. 24h, 7d).") var untaggedAfter: String?
        @Option(help: "Why (shown in listings).") var comment: String?

        func run() async throws {
            var spec = ["name": name]
            if let keepLast { spec["keep_last"] = String(keepLast) }
            if let keepDays { spec["keep_days"] = keepDays == keepDays.rounded() ? String(Int(keepDays)) : String(keepDays) }
            if let keepPulledDays { spec["keep_pulled_days"] = keepPulledDays == keepPulledDays.rounded() ? String(Int(keepPulledDays)) : String(keepPulledDays) }
            if let keepTag { spec["keep_tag"] = keepTag }
            if let untaggedAfter { spec["untagged_after"] = untaggedAfter }
            try PolicyKinds.check(kind: "retention", spec: spec)
            let record = try await options.withManager {
                try await PolicyKinds.add(kind: "retention", spec: spec, comment: comment, to: $0, by: AccountsOptions.actor)
            }
            print("added retention policy \(record.id): \(record.summary)")
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the retention policies now (--dry-run: print exactly what would go, change nothing).",
            discussion: """
                With --registry the running server does it: its webhooks get the deletes, its audit log records them. \
                On the storage itself (--config, --data), the audit log records them and no webhook is sent.
                """)
        @OptionGroup var options: AccountsOptions
        @Flag(help: "Change nothing; print what would be removed.") var dryRun = false
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let plan: RetentionPlan
            if let remote = try options.remote() {
                plan = try await remote.runRetention(dryRun: dryRun)
            } else {
                plan = try await runLocally()
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                encoder.dateEncodingStrategy = .iso8601
                return print(String(decoding: try encoder.encode(plan), as: UTF8.self))
            }
            let verb = dryRun ? "would remove" : "removed"
            CLIOutput.table(["REPOSITORY", "TAG", "DIGEST", "SIZE", "POLICY", "WHY"], plan.removals.map {
                [$0.repository, $0.tag ?? "(manifest)", $0.digest, $0.size.map { ByteSize(bytes: $0).description } ?? "-", $0.policy, $0.reason]
            })
            for skipped in plan.skipped { print("skipped: \(skipped)") }
            print("\(verb) \(plan.removals.filter { $0.tag != nil }.count) tags and \(plan.removals.filter { $0.tag == nil }.count) manifests"
                  + (dryRun || plan.removals.isEmpty ? "" : "; `berth gc` frees their blobs"))
        }

        /// On the storage and accounts database of --config or --data.
        func runLocally() async throws -> RetentionPlan {
            var configuration = try ConfigLoading.load(options.effectiveConfig)
            if let data = options.data { configuration.storage = .filesystem(rootDirectory: data) }
            if case .inMemory = configuration.storage { throw CLIFailure("the configuration uses in-memory storage: there is nothing to run retention on") }
            let registry = try BerthServer.makeStore(configuration, logger: Logger(label: "berth"))
            return try await options.withStore { accounts in
                let records = try await accounts.repositoryPolicies()
                let retention = try Retention(records: records)
                let plan = try await retention.plan(registry, repositories: try await registry.allRepositories(), remember: !dryRun)
                guard !dryRun else { return plan }
                struct Fixed: RepositoryPolicySource {
                    let list: [any RepositoryPolicy]
                    func policies() async throws -> [any RepositoryPolicy] { list }
                }
                let content = PolicedContent(registry, policies: Fixed(list: PolicyKinds.policies(records)))
                var entries: [AuditEntry] = []
                let done = await retention.apply(plan, store: registry, content: content) { removal in
                    entries.append(AuditEntry(actor: "retention (cli)", action: "manifest.delete",
                                              target: removal.repository + (removal.tag.map { ":\($0)" } ?? "@\(removal.digest)"),
                                              detail: removal.tag == nil ? nil : removal.digest))
                }
                entries.append(AuditEntry(actor: "retention (cli)", action: "retention.run", target: "\(Set(done.removals.map(\.repository)).count) repositories",
                                          detail: "\(done.removals.count) removed, \(done.skipped.count) skipped"))
                try await accounts.record(entries)
                return done
            }
        }
    }
}

struct QuotaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Cap what a namespace (the first component of repository names) stores.",
        subcommands: [SetQuota.self])

    struct SetQuota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a namespace's quota (SIZE none removes it).",
            discussion: """
                A namespace uses the distinct blobs of its repositories: a layer two of them share counts once, and \
                mounts count. A push whose new blobs would pass the quota is refused when its upload completes, and \
                an upload into a namespace already at its quota before any byte is sent (403 DENIED, saying quota, \
                used and limit). Deletes and `berth gc` give the space back. Setting it again replaces it.
                Examples: berth policy quota set team 10GiB;  berth policy quota set ci 500MB;  berth policy quota set team none
                """)
        @OptionGroup var options: AccountsOptions
        @Argument(help: "The namespace, e.g. team (for team/app, team/api…).") var namespace: String
        @Argument(help: "The size, e.g. 10GiB, 500MB, 1.5T, or none to remove the quota.") var size: String
        @Option(help: "Why (shown in listings).") var comment: String?

        func run() async throws {
            if size.lowercased() == "none" {
                let removed = try await options.withManager { manager in
                    guard let quota = try await manager.repositoryPolicies().first(where: { $0.kind == "quota" && $0.spec["namespace"] == namespace }) else {
                        throw CLIFailure("namespace \(namespace) has no quota (berth policy ls lists them)")
                    }
                    return try await manager.removeRepositoryPolicy(kind: "quota", quota.id, by: AccountsOptions.actor)
                }
                return print("removed the quota of namespace \(namespace) (was \(removed.spec["size"].flatMap { Int64($0) }.map { ByteSize(bytes: $0).description } ?? "?"))")
            }
            let limit: ByteSize
            do { limit = try ByteSize(parsing: size) } catch { throw CLIFailure("\(error)") }
            let spec = ["namespace": namespace, "size": String(limit.bytes)]
            try PolicyKinds.check(kind: "quota", spec: spec)
            let record = try await options.withManager {
                try await PolicyKinds.add(kind: "quota", spec: spec, comment: comment, to: $0, by: AccountsOptions.actor)
            }
            print("namespace \(namespace) may store \(limit) (quota policy \(record.id))")
        }
    }
}

struct SignedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signed",
        abstract: "Pull only images signed by a trusted key (cosign signatures).",
        subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Require a signature by one of the keys for pulls of matching repositories.",
            discussion: """
                A pull (manifest GET by tag or digest) succeeds only when a cosign signature of that digest, stored as \
                the tag sha256-<hex>.sig or as a referrer, names it in its payload and verifies with one of the keys \
                (ECDSA P-256 as cosign.pub, or ed25519; PEM public keys). Otherwise: 403 DENIED "image is not signed by a \
                trusted key". Signatures themselves always pull; pushes are never blocked; an index's signature covers \
                its platform images.
                Example: berth policy signed add --name 'prod/*' --key cosign.pub
                """)
        @OptionGroup var options: AccountsOptions
        @Option(help: "Repository pattern, e.g. 'prod/*'.") var name: String
        @Option(help: "A PEM public key file (cosign.pub); repeat for several.") var key: [String]
        @Option(help: "Why (shown in listings).") var comment: String?

        func run() async throws {
            var pem = ""
            for path in key {
                do { pem += try String(contentsOfFile: path, encoding: .utf8) } catch { throw CLIFailure("cannot read the key \(path): \(error.localizedDescription)") }
            }
            let spec = ["name": name, "key": pem]
            try PolicyKinds.check(kind: "signed", spec: spec)
            let record = try await options.withManager {
                try await PolicyKinds.add(kind: "signed", spec: spec, comment: comment, to: $0, by: AccountsOptions.actor)
            }
            print("added signed policy \(record.id): pulls of \(name) need a signature by \(key.count == 1 ? "that key" : "one of those \(key.count) keys")")
        }
    }
}
