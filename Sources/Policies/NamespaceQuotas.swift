import Accounts
import OCI
import Storage

/// How much a namespace (a repository name's first component) may store: a push whose new
/// blobs would take it past its quota is refused when the upload completes (or a mount is
/// asked), and an upload into a namespace already at its quota is refused before any byte is
/// sent; both 403 DENIED saying quota, used and limit. A blob the namespace already stores
/// (in any of its repositories) adds nothing. Deletes and gc give the space back.
public struct NamespaceQuotas: RepositoryPolicy {
    public struct Quota: Sendable, Equatable {
        public var namespace: String
        public var limit: ByteSize
        /// How `berth policy ls` numbers it: "quota #2".
        public var label: String

        public init(namespace: String, limit: ByteSize, label: String) {
            self.namespace = namespace
            self.limit = limit
            self.label = label
        }
    }

    public let quotas: [String: Quota]
    public let usage: NamespaceUsage

    public init(quotas: [Quota], usage: NamespaceUsage) {
        self.quotas = Dictionary(quotas.map { ($0.namespace, $0) }, uniquingKeysWith: { first, _ in first })
        self.usage = usage
    }

    func quota(_ repository: RepositoryName) -> Quota? { quotas[NamespaceUsage.namespace(of: repository)] }

    private func refusal(_ quota: Quota, used: Int64, adding: Int64?) -> ContentError {
        let what = adding.map { "this blob (\(ByteSize(bytes: $0))) would take it past" } ?? "nothing more may be pushed there until something is deleted; it is at"
        return .denied("quota exceeded: namespace \(quota.namespace) uses \(ByteSize(bytes: used)) of its \(quota.limit) (\(quota.label)); \(what) the limit")
    }

    public func beforeUploadStart(_ repository: RepositoryName, content: any RegistryContent) async throws {
        guard let quota = quota(repository) else { return }
        let used = try await usage.usage(quota.namespace).bytes
        if used >= quota.limit.bytes { throw refusal(quota, used: used, adding: nil) }
    }

    public func beforeUploadComplete(_ repository: RepositoryName, digest: Digest, size: Int64, content: any RegistryContent) async throws {
        try await check(repository, digest, size)
    }

    public func beforeBlobMount(_ repository: RepositoryName, from source: RepositoryName, digest: Digest, content: any RegistryContent) async throws {
        // A blob the source has not got is not mounted (the client uploads it instead).
        guard quota(repository) != nil, let size = try? await content.blobSize(source, digest) else { return }
        try await check(repository, digest, size)
    }

    private func check(_ repository: RepositoryName, _ digest: Digest, _ size: Int64) async throws {
        guard let quota = quota(repository), try await !usage.holds(quota.namespace, digest) else { return }
        let used = try await usage.usage(quota.namespace).bytes
        if used + size > quota.limit.bytes { throw refusal(quota, used: used, adding: size) }
    }

    public func after(_ change: ContentChange) async {
        switch change {
        case .linked(let repository, let digest, let size):
            if quota(repository) != nil { await usage.added(repository, digest, size: size) }
        case .deleted(let repository):
            if quota(repository) != nil { await usage.forget(repository) }
        case .pulled:
            break
        }
    }
}
