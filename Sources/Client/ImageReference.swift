import OCI

/// `HOST[:PORT][/REPOSITORY[:TAG|@DIGEST]]` as the CLI takes it, optionally prefixed with
/// `http://` or `https://` to fix the scheme. The registry host is always explicit: Berth's
/// tools never guess Docker Hub.
public struct ImageReference: Sendable, Equatable, CustomStringConvertible {
    public enum Scheme: String, Sendable { case http, https }

    public var scheme: Scheme?
    public var host: String
    public var repository: RepositoryName?
    public var reference: Reference?

    public init(parsing input: String) throws(ClientError) {
        var text = Substring(input)
        if text.hasPrefix("https://") { scheme = .https; text = text.dropFirst(8) }
        else if text.hasPrefix("http://") { scheme = .http; text = text.dropFirst(7) }
        else { scheme = nil }
        while text.hasSuffix("/") { text = text.dropLast() }
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, !first.isEmpty else { throw ClientError.usage("missing registry host in \(input)") }
        guard first.contains(".") || first.contains(":") || first == "localhost" else {
            throw ClientError.usage("\(input): the first part must be a registry host (e.g. registry.example.com or 127.0.0.1:5000)")
        }
        host = String(first)
        guard parts.count == 2 else { repository = nil; reference = nil; return }
        var rest = parts[1]
        do {
            if let at = rest.firstIndex(of: "@") {
                reference = .digest(try Digest(parsing: rest[rest.index(after: at)...]))
                rest = rest[..<at]
            } else if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
                reference = .tag(try Tag(rest[rest.index(after: colon)...]))
                rest = rest[..<colon]
            } else {
                reference = nil
            }
            repository = try RepositoryName(rest)
        } catch {
            throw ClientError.usage("\(input): \(error.message)")
        }
    }

    public var description: String {
        var text = host
        if let repository { text += "/\(repository.value)" }
        switch reference {
        case .tag(let t)?: text += ":\(t.value)"
        case .digest(let d)?: text += "@\(d)"
        case nil: break
        }
        return text
    }
}
