/// The `<reference>` of a manifest URL: a tag or a digest.
public enum Reference: Sendable, Hashable, CustomStringConvertible {
    case tag(Tag)
    case digest(Digest)

    /// Anything containing `:` is treated as a digest (tags cannot contain one).
    public init(parsing text: some StringProtocol) throws(RegistryError) {
        if text.utf8.contains(UInt8(ascii: ":")) {
            self = .digest(try Digest(parsing: text))
        } else {
            self = .tag(try Tag(text))
        }
    }

    public var description: String {
        switch self {
        case .tag(let t): t.value
        case .digest(let d): d.description
        }
    }

    public var digest: Digest? {
        if case .digest(let d) = self { return d }
        return nil
    }

    public var tag: Tag? {
        if case .tag(let t) = self { return t }
        return nil
    }
}
