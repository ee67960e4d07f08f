/// A relative path inside a storage driver's root. Every component is non-empty and is
/// neither `.` nor `..` and contains no `/` or NUL, so no path can escape the root.
public struct StoragePath: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let components: [String]

    public init(_ components: [String]) throws(StorageError) {
        for c in components {
            guard !c.isEmpty, c != ".", c != "..", !c.contains("/"), !c.utf8.contains(0), c.utf8.count <= 255 else {
                throw StorageError.invalidPath(components.joined(separator: "/"))
            }
        }
        self.components = components
    }

    /// Splits `a/b/c` into components and validates them.
    public init(_ text: String) throws(StorageError) {
        try self.init(text.split(separator: "/", omittingEmptySubsequences: false).map(String.init))
    }

    public static let root = StoragePath(unchecked: [])

    init(unchecked components: [String]) { self.components = components }

    public func appending(_ more: String...) throws(StorageError) -> StoragePath {
        try StoragePath(components + more)
    }

    public var parent: StoragePath? {
        components.isEmpty ? nil : StoragePath(unchecked: Array(components.dropLast()))
    }

    public var lastComponent: String? { components.last }

    public var description: String { components.joined(separator: "/") }

    public func hasPrefix(_ other: StoragePath) -> Bool {
        components.count >= other.components.count && Array(components.prefix(other.components.count)) == other.components
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.description < rhs.description }
}
