import Crypto
import Foundation

/// A repository policy as the accounts database keeps it: its kind (`immutable`…) and
/// settings; what it does is the `Policies` module's. Kept beside the ACL so it is edited
/// live, audited, and applied by every replica within the same second as a rule.
public struct RepositoryPolicyRecord: Sendable, Equatable, Codable {
    public var id: String
    public var kind: String
    /// `name` (a repository pattern), `tag` (a tag pattern)…, as the kind reads them.
    public var spec: [String: String]
    public var comment: String?
    public var createdAt: Date

    public init(id: String, kind: String, spec: [String: String], comment: String?, createdAt: Date) {
        self.id = id
        self.kind = kind
        self.spec = spec
        self.comment = comment
        self.createdAt = createdAt
    }

    /// `prod/* v*` for listings and the audit log.
    public var summary: String {
        spec.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.shortened($0.value))" }.joined(separator: " ")
    }

    /// A PEM text (a signed policy's keys) as how many keys and a fingerprint to tell them apart.
    public static func shortened(_ value: String) -> String {
        guard value.contains("-----BEGIN") else { return value }
        let blocks = value.components(separatedBy: "-----BEGIN").count - 1
        let fingerprint = SHA256.hash(data: Data(value.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        return "\(blocks) PEM key\(blocks == 1 ? "" : "s") (sha256 \(fingerprint))"
    }
}
