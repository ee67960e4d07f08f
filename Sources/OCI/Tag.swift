/// A tag validated against `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`; never `.`/`..`-like paths.
public struct Tag: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: String

    public init(_ text: some StringProtocol) throws(RegistryError) {
        let text = String(text)
        guard Self.isValid(text) else {
            throw RegistryError(.tagInvalid, message: "invalid tag",
                                detailJSON: RegistryError.detail(["tag": String(text.prefix(200))]))
        }
        value = text
    }

    public var description: String { value }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...128).contains(bytes.count) else { return false }
        func word(_ c: UInt8) -> Bool {
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_")
        }
        guard word(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}
