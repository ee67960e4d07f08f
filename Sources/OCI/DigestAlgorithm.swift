import Crypto

/// A content digest algorithm the registry accepts. sha256 is canonical; sha384 and sha512
/// are accepted as the OCI image spec registers them.
public enum DigestAlgorithm: String, Sendable, CaseIterable, Hashable, Codable {
    case sha256
    case sha384
    case sha512

    /// Number of lowercase hex characters in an encoded digest of this algorithm.
    public var hexLength: Int {
        switch self {
        case .sha256: 64
        case .sha384: 96
        case .sha512: 128
        }
    }

    public func makeHasher() -> DigestHasher { DigestHasher(algorithm: self) }
}
