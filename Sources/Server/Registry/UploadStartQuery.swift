import Hummingbird
import OCI

/// The parameters of `POST /v2/<name>/blobs/uploads/`, parsed once: the access check and
/// the handler must act on the same `from`, or a request naming two sources could be
/// authorized for one and mount from the other.
struct UploadStartQuery: Sendable {
    /// `mount=<digest>&from=<repository>`: both present and well-formed, else nil (the
    /// request then starts an ordinary upload, as the spec's fallback says).
    var mount: (digest: Digest, source: RepositoryName)? {
        guard let mountText, let fromText, let digest = try? Digest(parsing: mountText),
              let source = try? RepositoryName(fromText) else { return nil }
        return (digest, source)
    }
    /// `mount=<digest>` without `from`: the spec's automatic content discovery (mount from
    /// any repository holding it that the caller may pull).
    var automaticMount: Digest? {
        guard let mountText, fromText == nil else { return nil }
        return try? Digest(parsing: mountText)
    }
    var mountText: String?
    var fromText: String?
    /// `digest=`: a single-request monolithic upload.
    var digestText: String?

    static let singleValued = ["mount", "from", "digest"]

    /// Throws a 400 when `mount`, `from` or `digest` is given more than once.
    init(_ parameters: Parameters) throws {
        var seen: [String: String] = [:]
        for (key, value) in parameters {
            let key = String(key)
            guard Self.singleValued.contains(key) else { continue }
            guard seen[key] == nil else {
                throw RegistryError(.unsupported, message: "query parameter \(key) given more than once", status: 400)
            }
            seen[key] = String(value)
        }
        mountText = seen["mount"]
        fromText = seen["from"]
        digestText = seen["digest"]
    }

    init(mountText: String? = nil, fromText: String? = nil, digestText: String? = nil) {
        self.mountText = mountText
        self.fromText = fromText
        self.digestText = digestText
    }

    /// The repository a mount would read from, as the access check must see it.
    var mountSource: String? { mountText != nil ? fromText : nil }

}
