public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case invalidPath(String)
    /// A write at `offset` was asked of a file whose current size is `actual`.
    case invalidOffset(expected: Int64, actual: Int64)
    case io(String)
    /// The storage did not answer, or kept refusing for now (object storage down,
    /// throttling after every retry): worth trying again later.
    case unavailable(String)
    /// The storage refuses writes (a read-only mount): nothing can be pushed until an
    /// operator fixes it; reads still work.
    case readOnly(String)
    /// No space (or no inodes, or the quota) left for a write.
    case full(String)

    public var description: String {
        switch self {
        case .notFound(let p): "path not found: \(p)"
        case .invalidPath(let p): "invalid storage path: \(p.prefix(300))"
        case .invalidOffset(let e, let a): "invalid write offset \(e), current size \(a)"
        case .io(let m): "storage I/O error: \(m)"
        case .unavailable(let m): "storage unavailable: \(m)"
        case .readOnly(let m): "storage is read-only: \(m)"
        case .full(let m): "storage is full: \(m)"
        }
    }
}
