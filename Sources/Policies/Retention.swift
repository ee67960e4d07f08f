import Accounts
import Auth
import Foundation
import OCI
import Storage

/// Tag retention (Harbor's, for a registry CI pushes to every day): per repository, keep the
/// newest `keep_last` tags by push time, those pushed within `keep_days`, those pulled within
/// `keep_pulled_days`, those matching `keep_tag`, and immutable ones; untag the rest. Manifests left without tags, not in an
/// index and not a referrer of a kept manifest, are deleted once untagged for
/// `untagged_after` (then gc frees their blobs). Planned first (`--dry-run` prints exactly
/// the plan), applied through the content seam (so other policies still hold), and never
/// removing a tag or manifest pushed after the run began.
public struct RetentionRule: Sendable, Equatable {
    public var repositories: String
    public var keepLast: Int?
    public var keepDays: Double?
    /// Keep tags pulled (a manifest GET by tag) within this many days.
    public var keepPulledDays: Double?
    public var keepTags: String?
    public var untaggedAfter: TimeInterval?
    public var label: String
    /// When the policy was added: a tag never pulled since counts as pulled then (pulls are
    /// recorded only while a policy asks for them).
    public var addedAt: Date?

    public init(repositories: String, keepLast: Int? = nil, keepDays: Double? = nil, keepPulledDays: Double? = nil,
                keepTags: String? = nil, untaggedAfter: TimeInterval? = nil, label: String) {
        self.repositories = repositories
        self.keepLast = keepLast
        self.keepDays = keepDays
        self.keepPulledDays = keepPulledDays
        self.keepTags = keepTags
        self.untaggedAfter = untaggedAfter
        self.label = label
    }

    /// From a policy record's settings (`name`, `keep_last`, `keep_days`, `keep_pulled_days`, `keep_tag`, `untagged_after`).
    init(_ spec: [String: String], label: String, addedAt: Date? = nil) throws {
        guard let name = spec["name"], !name.isEmpty else { throw AccountError.invalid("retention policies need name") }
        do { try Pattern.validate(name) } catch { throw AccountError.invalid("retention: name: \(error)") }
        self.init(repositories: name, label: label)
        self.addedAt = addedAt
        if let text = spec["keep_last"] {
            guard let n = Int(text), n >= 0, n <= 1_000_000 else { throw AccountError.invalid("retention: keep_last is a number of tags, got \(text.prefix(32))") }
            keepLast = n
        }
        if let text = spec["keep_days"] {
            guard let d = Double(text), d >= 0, d <= 36_500 else { throw AccountError.invalid("retention: keep_days is a number of days, got \(text.prefix(32))") }
            keepDays = d
        }
        if let text = spec["keep_pulled_days"] {
            guard let d = Double(text), d > 0, d <= 36_500 else { throw AccountError.invalid("retention: keep_pulled_days is a number of days, got \(text.prefix(32))") }
            keepPulledDays = d
        }
        if let pattern = spec["keep_tag"] {
            do { try Pattern.validate(pattern) } catch { throw AccountError.invalid("retention: keep_tag: \(error)") }
            keepTags = pattern
        }
        if let text = spec["untagged_after"] {
            guard let seconds = Self.duration(text) else { throw AccountError.invalid("retention: untagged_after is a duration such as 24h or 30m, got \(text.prefix(32))") }
            untaggedAfter = seconds
        }
        guard keepLast != nil || keepDays != nil || keepPulledDays != nil || untaggedAfter != nil else {
            throw AccountError.invalid("retention policies need keep_last, keep_days, keep_pulled_days or untagged_after")
        }
    }

    /// A Go duration (`90s`, `30m`, `1h30m`) or days (`7d`).
    static func duration(_ text: String) -> TimeInterval? {
        if text.hasSuffix("d"), let days = Double(text.dropLast()), days >= 0 { return days * 86_400 }
        guard !text.isEmpty, Double(text) == nil, let seconds = GoDuration.seconds(text), seconds >= 0 else { return nil }
        return seconds
    }
}

public struct RetentionPlan: Codable, Sendable, Equatable {
    public struct Removal: Codable, Sendable, Equatable {
        public var repository: String
        /// A tag to remove; nil: the manifest itself is deleted.
        public var tag: String?
        public var digest: String
        /// The image's bytes (its config and layers, every platform's for an index).
        public var size: Int64?
        public var policy: String
        public var reason: String
    }

    public var startedAt: Date
    public var removals: [Removal]
    /// What was not done when applied (moved since the plan, refused by a policy).
    public var skipped: [String] = []

    public init(startedAt: Date, removals: [Removal], skipped: [String] = []) {
        self.startedAt = startedAt
        self.removals = removals
        self.skipped = skipped
    }
}

public struct Retention: Sendable {
    public let rules: [RetentionRule]
    public let immutable: ImmutableTags?

    public init(rules: [RetentionRule], immutable: ImmutableTags?) {
        self.rules = rules
        self.immutable = immutable
    }

    /// From the accounts database's policy records.
    public init(records: [RepositoryPolicyRecord]) throws {
        var rules: [RetentionRule] = []
        for (index, record) in records.filter({ $0.kind == "retention" }).enumerated() {
            rules.append(try RetentionRule(record.spec, label: "retention #\(index + 1)", addedAt: record.createdAt))
        }
        self.init(rules: rules, immutable: PolicyKinds.policies(records).compactMap { $0 as? ImmutableTags }.first)
    }

    func rule(for repository: String) -> RetentionRule? { rules.first { Pattern.matches($0.repositories, repository) } }

    /// What would go, repository by repository, at `now`; nothing is changed, except that a
    /// manifest found without tags for the first time is remembered as untagged from now.
    public func plan(_ store: RegistryStore, repositories names: [String], now: Date = Date(), remember: Bool = true) async throws -> RetentionPlan {
        var plan = RetentionPlan(startedAt: now, removals: [])
        for name in names {
            guard let rule = rule(for: name), let repository = try? RepositoryName(name) else { continue }
            plan.removals += try await self.plan(store, repository, rule, now: now, remember: remember)
        }
        return plan
    }

    private func plan(_ store: RegistryStore, _ repository: RepositoryName, _ rule: RetentionRule, now: Date,
                      remember: Bool) async throws -> [RetentionPlan.Removal] {
        let targets = try await store.tagTargets(repository)
        var removals: [RetentionPlan.Removal] = []
        var sizes: [Digest: Int64] = [:]
        func size(_ digest: Digest) async -> Int64? {
            if let known = sizes[digest] { return known }
            let total = await imageSize(store, repository, digest)
            sizes[digest] = total
            return total
        }
        // Tags: cosign's signature/attestation/SBOM tags follow their image, not counted here.
        var removedTags = Set<String>()
        if rule.keepLast != nil || rule.keepDays != nil || rule.keepPulledDays != nil {
            let pulls = rule.keepPulledDays == nil ? [:] : try await store.tagPulls(repository)
            var dated: [(tag: Tag, digest: Digest, pushed: Date)] = []
            for (tag, digest) in targets where SupplyChainArtifact.tagScheme(tag.value) == nil {
                let pushed = (try? await store.driver.stat(Layout.tagCurrentLink(repository, tag)).modifiedAt).map { Date(timeIntervalSince1970: $0) } ?? now
                dated.append((tag, digest, pushed))
            }
            dated.sort { $0.pushed != $1.pushed ? $0.pushed > $1.pushed : $0.tag.value < $1.tag.value }
            for (index, entry) in dated.enumerated() {
                if let keepLast = rule.keepLast, index < keepLast { continue }
                if let keepDays = rule.keepDays, now.timeIntervalSince(entry.pushed) <= keepDays * 86400 { continue }
                if let keepPulledDays = rule.keepPulledDays, let pulled = pulls[entry.tag.value],
                   now.timeIntervalSince(pulled) <= keepPulledDays * 86400 { continue }
                // A tag never pulled counts from its push, or from when the policy began recording.
                if let keepPulledDays = rule.keepPulledDays, pulls[entry.tag.value] == nil,
                   now.timeIntervalSince(max(entry.pushed, rule.addedAt ?? entry.pushed)) <= keepPulledDays * 86400 { continue }
                if let keep = rule.keepTags, Pattern.matches(keep, entry.tag.value) { continue }
                if immutable?.protects(repository, entry.tag.value) == true { continue }
                // Pushed after the run began (a clock a little behind): never.
                if entry.pushed >= now { continue }
                var why: [String] = []
                if let keepLast = rule.keepLast { why.append("not among the newest \(keepLast)") }
                if let keepDays = rule.keepDays { why.append("pushed more than \(Self.days(keepDays)) ago") }
                if let keepPulledDays = rule.keepPulledDays { why.append("not pulled within \(Self.days(keepPulledDays))") }
                removals.append(.init(repository: repository.value, tag: entry.tag.value, digest: entry.digest.description,
                                      size: await size(entry.digest), policy: rule.label, reason: why.joined(separator: ", ")))
                removedTags.insert(entry.tag.value)
            }
        }
        guard let after = rule.untaggedAfter else { return removals }
        // Manifests: without tags once this plan's tag removals are done.
        let tagged = Set(targets.filter { !removedTags.contains($0.tag.value) }.map(\.digest))
        var outlines: [Digest: ManifestOutline] = [:]
        for digest in try await store.revisionDigests(repository) {
            if let stored = try? await store.manifest(repository, .digest(digest)), let outline = try? ManifestOutline(stored: stored.bytes) {
                outlines[digest] = outline
            }
        }
        let kept = Self.kept(tagged: tagged, outlines: outlines)
        // When each manifest was first found without tags (one listing per repository).
        let markers = BerthLayout.retentionUntaggedDirectory(repository)
        var untaggedSince: [Digest: Date] = [:]
        for hex in (try? await store.driver.listIfPresent(markers)) ?? [] {
            guard let digest = try? Digest(algorithm: .sha256, hex: hex) else { continue }
            if kept.contains(digest) || outlines[digest] == nil {
                try? await store.driver.delete(BerthLayout.retentionUntagged(repository, digest))
            } else if let bytes = try? await store.driver.getContent(BerthLayout.retentionUntagged(repository, digest)),
                      let seconds = Double(String(decoding: bytes, as: UTF8.self)) {
                untaggedSince[digest] = Date(timeIntervalSince1970: seconds)
            }
        }
        for digest in outlines.keys.sorted() where !kept.contains(digest) {
            guard let since = untaggedSince[digest] else {
                // Untagged already before this run: from now on (tags this run removes are
                // remembered when they are removed).
                if remember, !targets.contains(where: { $0.digest == digest }) {
                    try? await store.driver.putContent(BerthLayout.retentionUntagged(repository, digest), Array(String(now.timeIntervalSince1970).utf8))
                }
                continue
            }
            guard now.timeIntervalSince(since) >= after else { continue }
            removals.append(.init(repository: repository.value, tag: nil, digest: digest.description, size: await size(digest),
                                  policy: rule.label, reason: "without tags since \(since.formatted(.iso8601))"))
        }
        return removals
    }

    /// Tagged manifests, the platform manifests of kept indexes, and referrers of kept manifests.
    static func kept(tagged: Set<Digest>, outlines: [Digest: ManifestOutline]) -> Set<Digest> {
        var referrersOf: [Digest: [Digest]] = [:]
        for (digest, outline) in outlines { if let subject = outline.subject { referrersOf[subject, default: []].append(digest) } }
        var kept = Set<Digest>()
        var pending = Array(tagged)
        while let digest = pending.popLast() {
            guard kept.insert(digest).inserted else { continue }
            pending += outlines[digest]?.children ?? []
            pending += referrersOf[digest] ?? []
        }
        return kept
    }

    /// What a repository keeps as it is now (for the check just before a manifest is deleted:
    /// an index pushed during the run may have made an old untagged manifest its child again).
    static func keptNow(_ store: RegistryStore, _ repository: RepositoryName) async throws -> Set<Digest> {
        var outlines: [Digest: ManifestOutline] = [:]
        for digest in try await store.revisionDigests(repository) {
            if let stored = try? await store.manifest(repository, .digest(digest)), let outline = try? ManifestOutline(stored: stored.bytes) {
                outlines[digest] = outline
            }
        }
        return kept(tagged: Set(try await store.tagTargets(repository).map(\.digest)), outlines: outlines)
    }

    static func days(_ days: Double) -> String {
        days == days.rounded() ? "\(Int(days)) day\(days == 1 ? "" : "s")" : "\(days) days"
    }

    /// The image's config and layers (an index: its platforms'), as far as they can be read.
    func imageSize(_ store: RegistryStore, _ repository: RepositoryName, _ digest: Digest) async -> Int64? {
        guard let stored = try? await store.manifest(repository, .digest(digest)), let manifest = try? Manifest(parsing: stored.bytes, contentType: stored.mediaType) else { return nil }
        var total = manifest.referencedBlobs.reduce(Int64(0)) { $0 + $1.size }
        for child in manifest.manifests {
            if let childSize = await imageSize(store, repository, child.digest) { total += childSize }
        }
        return total
    }

    /// Carries out `plan` through `content` (the policed content /v2 serves): each removal
    /// checked again first (a tag moved or pushed since the run began, a manifest tagged
    /// again, is left alone); `removed` is told of each one done, for events and the audit log.
    public func apply(_ plan: RetentionPlan, store: RegistryStore, content: any RegistryContent,
                      removed: (RetentionPlan.Removal) async -> Void) async -> RetentionPlan {
        var done = plan
        done.removals = []
        // Computed once per repository, after its tag removals (they come first in the plan).
        var keptNow: [RepositoryName: Set<Digest>] = [:]
        // Images whose tag was removed: those left without any tag are marked at the end (one
        // listing of the repository's tags, not one per removal).
        var untagged: [RepositoryName: Set<Digest>] = [:]
        for removal in plan.removals {
            guard let repository = try? RepositoryName(removal.repository), let digest = try? Digest(parsing: removal.digest) else { continue }
            do {
                if let name = removal.tag, let tag = try? Tag(name) {
                    let link = Layout.tagCurrentLink(repository, tag)
                    guard try await store.resolveTag(repository, tag) == digest,
                          let pushed = try? await store.driver.stat(link).modifiedAt, pushed < plan.startedAt.timeIntervalSince1970 else {
                        done.skipped.append("\(removal.repository):\(name) moved since the plan")
                        continue
                    }
                    try await content.deleteManifest(repository, .tag(tag))
                    untagged[repository, default: []].insert(digest)
                } else {
                    if keptNow[repository] == nil { keptNow[repository] = try await Self.keptNow(store, repository) }
                    guard keptNow[repository]?.contains(digest) == false else {
                        done.skipped.append("\(removal.repository)@\(removal.digest) is tagged, or held by a tagged index or image, again")
                        continue
                    }
                    try await content.deleteManifest(repository, .digest(digest))
                    try? await store.driver.delete(BerthLayout.retentionUntagged(repository, digest))
                }
                done.removals.append(removal)
                await removed(removal)
            } catch {
                done.skipped.append("\(removal.repository) \(removal.tag ?? removal.digest): \(error)")
            }
        }
        for (repository, digests) in untagged {
            guard let stillTagged = try? Set(await store.tagTargets(repository).map(\.digest)) else { continue }
            for digest in digests.subtracting(stillTagged) {
                try? await store.driver.putContent(BerthLayout.retentionUntagged(repository, digest), Array(String(Date().timeIntervalSince1970).utf8))
            }
        }
        return done
    }
}
