import Accounts
import Auth
import Storage

/// Every kind of repository policy: how its settings are checked when one is added, and how
/// the database's records of it become a `RepositoryPolicy`. A new kind (retention, quota,
/// signed) is one more entry.
public enum PolicyKinds {
    public struct Kind: Sendable {
        /// The settings it takes, and which are required.
        public var settings: [String: Bool]
        public var validate: @Sendable ([String: String]) throws -> Void
        /// The hooks it runs, if it acts on changes (retention runs on a schedule instead).
        public var make: @Sendable ([(record: RepositoryPolicyRecord, label: String)]) -> (any RepositoryPolicy)?
    }

    public static let all: [String: Kind] = [
        "immutable": Kind(
            settings: ["name": true, "tag": true],
            validate: { spec in
                for key in ["name", "tag"] {
                    do { try Pattern.validate(spec[key] ?? "") } catch { throw AccountError.invalid("immutable: \(key): \(error)") }
                }
            },
            make: { records in
                // A record another version wrote, or edited by hand, that lacks a setting is skipped, never a crash.
                ImmutableTags(rules: records.compactMap { entry in
                    guard let name = entry.record.spec["name"], let tag = entry.record.spec["tag"] else { return nil }
                    return ImmutableTags.Rule(repositories: name, tags: tag, label: entry.label)
                })
            }),
        "retention": Kind(
            settings: ["name": true, "keep_last": false, "keep_days": false, "keep_tag": false, "untagged_after": false],
            validate: { spec in _ = try RetentionRule(spec, label: "retention") },
            make: { _ in nil }),
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

    /// The policies the records describe, one per kind, numbered as `berth policy ls` does.
    public static func policies(_ records: [RepositoryPolicyRecord]) -> [any RepositoryPolicy] {
        var byKind: [String: [(record: RepositoryPolicyRecord, label: String)]] = [:]
        for record in records {
            let number = (byKind[record.kind]?.count ?? 0) + 1
            byKind[record.kind, default: []].append((record, "\(record.kind) #\(number)"))
        }
        return byKind.keys.sorted().compactMap { kind in all[kind].flatMap { $0.make(byKind[kind]!) } }
    }
}
