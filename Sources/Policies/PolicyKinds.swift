import Accounts
import Auth
import OCI
import Storage

/// Every kind of repository policy: how its settings are checked when one is added, and how
/// the database's records of it become a `RepositoryPolicy`. A new kind (retention, quota,
/// signed) is one more entry.
public enum PolicyKinds {
    public struct Kind: Sendable {
        /// The settings it takes, and which are required.
        public var settings: [String: Bool]
        public var validate: @Sendable ([String: String]) throws -> Void
        /// The settings that name one policy of the kind: adding another with the same values
        /// replaces it (a namespace has one quota).
        public var identity: [String] = []
        /// The settings as stored, once checked: one spelling of a value however it was given
        /// (a quota's size in bytes, whether the CLI, the web form or the admin API wrote `10GiB`).
        public var normalize: @Sendable ([String: String]) -> [String: String] = { $0 }
        /// The hooks it runs, if it acts on changes (retention runs on a schedule instead).
        public var make: @Sendable ([(record: RepositoryPolicyRecord, label: String)], PolicyContext) -> (any RepositoryPolicy)?
    }

    /// What the running registry lends the policies it makes.
    public struct PolicyContext: Sendable {
        /// The namespaces' usage, where quotas are enforced (a server); nil elsewhere.
        public var usage: NamespaceUsage?
        /// Signatures already verified, kept across generations of the policies.
        public var verifiedSignatures: VerifiedDigests
        /// Where the pulls of tags are noted (a server); nil elsewhere.
        public var tagPulls: TagPullRecorder?

        public init(usage: NamespaceUsage? = nil, verifiedSignatures: VerifiedDigests = VerifiedDigests(), tagPulls: TagPullRecorder? = nil) {
            self.usage = usage
            self.verifiedSignatures = verifiedSignatures
            self.tagPulls = tagPulls
        }
    }

    public static let all: [String: Kind] = [
        "immutable": Kind(
            settings: ["name": true, "tag": true],
            validate: { spec in
                for key in ["name", "tag"] {
                    do { try Pattern.validate(spec[key] ?? "") } catch { throw AccountError.invalid("immutable: \(key): \(error)") }
                }
            },
            make: { records, _ in
                // A record another version wrote, or edited by hand, that lacks a setting is skipped, never a crash.
                ImmutableTags(rules: records.compactMap { entry in
                    guard let name = entry.record.spec["name"], let tag = entry.record.spec["tag"] else { return nil }
                    return ImmutableTags.Rule(repositories: name, tags: tag, label: entry.label)
                })
            }),
        "retention": Kind(
            settings: ["name": true, "keep_last": false, "keep_days": false, "keep_pulled_days": false, "keep_tag": false,
                       "untagged_after": false],
            validate: { spec in _ = try RetentionRule(spec, label: "retention") },
            make: { records, context in
                // Retention itself runs on a schedule; what it needs from each pull is noted here.
                let pulled = records.filter { $0.record.spec["keep_pulled_days"] != nil }.compactMap { $0.record.spec["name"] }
                guard !pulled.isEmpty, let recorder = context.tagPulls else { return nil }
                return TagPullRecording(repositories: pulled, recorder: recorder)
            }),
        "quota": Kind(
            settings: ["namespace": true, "size": true],
            validate: { spec in
                let namespace = spec["namespace"] ?? ""
                guard !namespace.contains("/"), RepositoryName.isValidComponent(namespace) else {
                    throw AccountError.invalid("quota: namespace: \(namespace.prefix(64)) is not a namespace (the first component of repository names, e.g. team)")
                }
                do { _ = try ByteSize(parsing: spec["size"] ?? "") } catch { throw AccountError.invalid("quota: size: \(error)") }
            },
            identity: ["namespace"],
            normalize: { spec in
                var spec = spec
                if let size = spec["size"].flatMap({ try? ByteSize(parsing: $0) }) { spec["size"] = String(size.bytes) }
                return spec
            },
            make: { records, context in
                guard let usage = context.usage else { return nil }
                return NamespaceQuotas(quotas: records.compactMap { entry in
                    guard let namespace = entry.record.spec["namespace"], let size = try? ByteSize(parsing: entry.record.spec["size"] ?? "") else { return nil }
                    return NamespaceQuotas.Quota(namespace: namespace, limit: size, label: entry.label)
                }, usage: usage)
            }),
        "signed": Kind(
            settings: ["name": true, "key": true],
            validate: { spec in
                do { try Pattern.validate(spec["name"] ?? "") } catch { throw AccountError.invalid("signed: name: \(error)") }
                do { _ = try SignatureKeys(pem: spec["key"] ?? "") } catch { throw AccountError.invalid("signed: key: \(error)") }
            },
            make: { records, context in
                SignedImages(rules: records.compactMap { entry in
                    guard let name = entry.record.spec["name"], let keys = try? SignatureKeys(pem: entry.record.spec["key"] ?? "") else { return nil }
                    return SignedImages.Rule(repositories: name, keys: keys, label: entry.label, id: entry.record.id)
                }, verified: context.verifiedSignatures)
            }),
    ]

    /// A new policy's settings, checked: a known kind, known settings, required ones present.
    public static func check(kind: String, spec: [String: String]) throws {
        guard let known = all[kind] else {
            throw AccountError.invalid("unknown policy kind \(kind.prefix(32)) (known: \(all.keys.sorted().joined(separator: ", ")))")
        }
        if let unknown = spec.keys.sorted().first(where: { known.settings[$0] == nil }) {
            throw AccountError.invalid("\(kind) policies have no setting \(unknown.prefix(64)) (they take \(known.settings.keys.sorted().joined(separator: ", ")))")
        }
        if let missing = known.settings.filter({ $0.value && spec[$0.key]?.isEmpty != false }).keys.sorted().first {
            throw AccountError.invalid("\(kind) policies need \(missing)")
        }
        try known.validate(spec)
    }

    /// Checks a new policy and adds it (replacing the one of the kind it names, if any).
    public static func add(kind: String, spec: [String: String], comment: String?, to accounts: any AccountsManager,
                           by actor: AuditActor) async throws -> RepositoryPolicyRecord {
        try check(kind: kind, spec: spec)
        let known = all[kind]!
        return try await accounts.addRepositoryPolicy(kind: kind, spec: known.normalize(spec), comment: comment, identity: known.identity, by: actor)
    }

    /// The policies the records describe, one per kind, numbered as `berth policy ls` does.
    public static func policies(_ records: [RepositoryPolicyRecord], context: PolicyContext = PolicyContext()) -> [any RepositoryPolicy] {
        var byKind: [String: [(record: RepositoryPolicyRecord, label: String)]] = [:]
        for record in records {
            let number = (byKind[record.kind]?.count ?? 0) + 1
            byKind[record.kind, default: []].append((record, "\(record.kind) #\(number)"))
        }
        return byKind.keys.sorted().compactMap { kind in all[kind].flatMap { $0.make(byKind[kind]!, context) } }
    }
}
