/// A repository name validated against the OCI grammar:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 characters.
/// Valid names can never contain `..`, an empty component or a leading `/`, so they are safe
/// to use as storage path components.
public struct RepositoryName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let maxLength = 255
    public let value: String

    public init(_ text: some StringProtocol) throws(RegistryError) {
        let text = String(text)
        guard text.utf8.count <= Self.maxLength else {
            throw RegistryError(.nameInvalid, message: "repository name must not be more than \(Self.maxLength) characters")
        }
        guard Self.isValid(text) else {
            throw RegistryError(.nameInvalid, message: "invalid repository name",
                                detailJSON: RegistryError.detail(["name": String(text.prefix(256))]))
        }
        value = text
    }

    public var description: String { value }
    /// Split on bytes: storage paths are built from them on every request.
    public var components: [Substring] { value.utf8.split(separator: UInt8(ascii: "/")).map { Substring($0) } }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    static func isAlnum(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    /// Checked on the string's own bytes, without copying a component: every registry
    /// request and every token request names a repository.
    static func isValid(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard !bytes.isEmpty else { return false }
            var start = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: "/") {
                guard isValidComponent(UnsafeBufferPointer(rebasing: bytes[start..<index])) else { return false }
                start = index + 1
            }
            return true
        }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    public static func isValidComponent(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isValidComponent($0) }
    }

    static func isValidComponent(_ c: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        func alnumRun() -> Bool {
            let start = i
            while i < c.count, isAlnum(c[i]) { i += 1 }
            return i > start
        }
        guard alnumRun() else { return false }
        while i < c.count {
            switch c[i] {
            case UInt8(ascii: "."):
                i += 1
            case UInt8(ascii: "_"):
                i += 1
                if i < c.count, c[i] == UInt8(ascii: "_") { i += 1 }
            case UInt8(ascii: "-"):
                while i < c.count, c[i] == UInt8(ascii: "-") { i += 1 }
            default:
                return false
            }
            guard alnumRun() else { return false }
        }
        return true
    }
}
