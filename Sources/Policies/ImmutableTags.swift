import Accounts
import Auth
import OCI
import Storage

/// Tags that never move: a push that would point a matching tag at another manifest, the
/// delete of such a tag, or of a manifest one of them points at, or of a repository holding
/// one, is refused (403 DENIED, naming the policy). Pushing the same manifest again is fine.
/// Repository and tag patterns are the ACL's (globs, or /regex/).
public struct ImmutableTags: RepositoryPolicy {
    public struct Rule: Sendable, Equatable {
        public var repositories: String
        public var tags: String
        /// How `berth policy ls` numbers it: "immutable #2".
        public var label: String

        public init(repositories: String, tags: String, label: String) {
            self.repositories = repositories
            self.tags = tags
            self.label = label
        }

        func covers(_ repository: RepositoryName, _ tag: String) -> Bool {
            Pattern.matches(repositories, repository.description) && Pattern.matches(tags, tag)
        }
    }

    public let rules: [Rule]

    public init(rules: [Rule]) { self.rules = rules }

    public var decidesOnCurrentTags: Bool { true }

    func rule(_ repository: RepositoryName, _ tag: String) -> Rule? { rules.first { $0.covers(repository, tag) } }

    /// Whether `tag` of `repository` never moves (for the web UI's badges and delete links).
    public func protects(_ repository: RepositoryName, _ tag: String) -> Bool { rule(repository, tag) != nil }

    /// The immutable-tags policy of the records, if any of its rules covers `repository`.
    public static func covering(_ records: [RepositoryPolicyRecord], repository: RepositoryName) -> ImmutableTags? {
        let policy = PolicyKinds.policies(records).compactMap { $0 as? ImmutableTags }.first
        guard let policy, policy.rules.contains(where: { Pattern.matches($0.repositories, repository.description) }) else { return nil }
        return policy
    }

    private func refusal(_ repository: RepositoryName, _ tag: String, _ rule: Rule, _ what: String) -> ContentError {
        .denied("\(repository):\(tag) is immutable (\(rule.label): \(rule.repositories) \(rule.tags)); \(what)")
    }

    public func beforeManifestPut(_ repository: RepositoryName, digest: Digest, tags: [Tag], content: any RegistryContent) async throws {
        for tag in tags {
            guard let rule = rule(repository, tag.description) else { continue }
            if let current = try await content.resolveTag(repository, tag), current != digest {
                throw refusal(repository, tag.description, rule, "push it under a new tag")
            }
        }
    }

    public func beforeManifestDelete(_ repository: RepositoryName, _ reference: Reference, content: any RegistryContent) async throws {
        switch reference {
        case .tag(let tag):
            if let rule = rule(repository, tag.description), try await content.resolveTag(repository, tag) != nil {
                throw refusal(repository, tag.description, rule, "it cannot be deleted")
            }
        case .digest(let digest):
            if let (tag, rule) = try await covering(digest, in: repository, content: content, blobs: false) {
                throw refusal(repository, tag.description, rule, "the manifest it holds (\(digest)) cannot be deleted")
            }
        }
    }

    public func beforeBlobDelete(_ repository: RepositoryName, digest: Digest, content: any RegistryContent) async throws {
        if let (tag, rule) = try await covering(digest, in: repository, content: content, blobs: true) {
            throw refusal(repository, tag.description, rule, "a blob of it (\(digest)) cannot be deleted")
        }
    }

    /// The covered tag whose image holds `digest`: the manifest it points at, an index's
    /// platform manifests, and (with `blobs`) their configs and layers.
    private func covering(_ digest: Digest, in repository: RepositoryName, content: any RegistryContent,
                          blobs: Bool) async throws -> (Tag, Rule)? {
        for (tag, rule) in try await coveredTags(repository, content) {
            guard let top = try await content.resolveTag(repository, tag) else { continue }
            var pending = [top]
            var seen = Set<Digest>()
            while let manifest = pending.popLast(), seen.insert(manifest).inserted {
                if manifest == digest { return (tag, rule) }
                guard let stored = try? await content.manifest(repository, .digest(manifest)),
                      let outline = try? ManifestOutline(stored: stored.bytes) else { continue }
                if blobs, outline.blobs.contains(digest) { return (tag, rule) }
                pending += outline.children
            }
        }
        return nil
    }

    public func beforeRepositoryDelete(_ repository: RepositoryName, content: any RegistryContent) async throws {
        if let first = try await coveredTags(repository, content).first {
            throw refusal(repository, first.tag.description, first.rule, "the repository cannot be deleted")
        }
    }

    private func coveredTags(_ repository: RepositoryName, _ content: any RegistryContent) async throws -> [(tag: Tag, rule: Rule)] {
        guard rules.contains(where: { Pattern.matches($0.repositories, repository.description) }) else { return [] }
        return try await content.tags(repository).compactMap { name in
            guard let rule = rule(repository, name), let tag = try? Tag(name) else { return nil }
            return (tag, rule)
        }
    }
}
