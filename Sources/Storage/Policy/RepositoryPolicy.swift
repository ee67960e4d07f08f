import OCI

/// A rule about repository content that is not about who asks (the ACL decides that): an
/// immutable tag, a quota, a signature required to pull. `PolicedContent` asks every policy
/// before the change; a policy throws `ContentError.denied` to refuse it. Each hook has a
/// default that allows, so a policy implements only what it is about.
public protocol RepositoryPolicy: Sendable {
    /// Before a manifest whose digest is `digest` is stored and `tags` pointed at it.
    func beforeManifestPut(_ repository: RepositoryName, digest: Digest, tags: [Tag], content: any RegistryContent) async throws
    /// Before a tag (`reference` a tag) or a manifest (a digest) is deleted.
    func beforeManifestDelete(_ repository: RepositoryName, _ reference: Reference, content: any RegistryContent) async throws
    /// Before a blob is unlinked from a repository (`DELETE /v2/…/blobs/DIGEST`).
    func beforeBlobDelete(_ repository: RepositoryName, digest: Digest, content: any RegistryContent) async throws
    /// Before a whole repository is deleted.
    func beforeRepositoryDelete(_ repository: RepositoryName, content: any RegistryContent) async throws
    /// Before an upload of `size` bytes becomes the blob `digest` of `repository`.
    func beforeUploadComplete(_ repository: RepositoryName, digest: Digest, size: Int64, content: any RegistryContent) async throws
    /// Before a manifest is served.
    func beforeManifestRead(_ repository: RepositoryName, _ manifest: StoredManifest, content: any RegistryContent) async throws
    /// Before an upload into `repository` begins (a quota already spent refuses it before any byte is sent).
    func beforeUploadStart(_ repository: RepositoryName, content: any RegistryContent) async throws
    /// Before the blob `digest` of `source` is mounted into `repository`.
    func beforeBlobMount(_ repository: RepositoryName, from source: RepositoryName, digest: Digest, content: any RegistryContent) async throws
    /// After a change went through, or a tag was pulled (what a policy that counts keeps up
    /// to date: a quota its bytes, retention its tags' last pulls).
    func after(_ change: ContentChange) async
    /// Whether `beforeManifestPut` decides on what the tags point at now (an immutable tag):
    /// then the tag changes of a repository go one at a time, so two pushes cannot both see a
    /// tag free. Others (a quota) leave pushes to run side by side.
    var decidesOnCurrentTags: Bool { get }
}

/// What a policy may want to know about once it is done.
public enum ContentChange: Sendable, Equatable {
    /// A blob or manifest of `size` bytes is now linked into the repository.
    case linked(RepositoryName, Digest, size: Int64)
    /// Something of the repository was deleted (a tag, a manifest, a blob, the repository).
    case deleted(RepositoryName)
    /// A tag's manifest was served (a GET by tag; a HEAD is not a pull).
    case pulled(RepositoryName, Tag)
}

extension RepositoryPolicy {
    public var decidesOnCurrentTags: Bool { false }
    public func beforeManifestPut(_ repository: RepositoryName, digest: Digest, tags: [Tag], content: any RegistryContent) async throws {}
    public func beforeManifestDelete(_ repository: RepositoryName, _ reference: Reference, content: any RegistryContent) async throws {}
    public func beforeBlobDelete(_ repository: RepositoryName, digest: Digest, content: any RegistryContent) async throws {}
    public func beforeRepositoryDelete(_ repository: RepositoryName, content: any RegistryContent) async throws {}
    public func beforeUploadComplete(_ repository: RepositoryName, digest: Digest, size: Int64, content: any RegistryContent) async throws {}
    public func beforeManifestRead(_ repository: RepositoryName, _ manifest: StoredManifest, content: any RegistryContent) async throws {}
    public func beforeUploadStart(_ repository: RepositoryName, content: any RegistryContent) async throws {}
    public func beforeBlobMount(_ repository: RepositoryName, from source: RepositoryName, digest: Digest, content: any RegistryContent) async throws {}
    public func after(_ change: ContentChange) async {}
}

/// Where the policies in force come from, asked at each change: they are edited while Berth
/// runs (the accounts database), so they are never captured once.
public protocol RepositoryPolicySource: Sendable {
    func policies() async throws -> [any RepositoryPolicy]
}
