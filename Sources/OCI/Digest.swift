import Crypto

/// A validated content digest such as `sha256:9f86d0…`.
public struct Digest: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let algorithm: DigestAlgorithm
    /// Lowercase hex encoding, exactly `algorithm.hexLength` characters.
    public let hex: String

    public init(algorithm: DigestAlgorithm, hex: String) throws(RegistryError) {
        guard hex.utf8.count == algorithm.hexLength, hex.utf8.allSatisfy(Digest.isLowerHex) else {
            throw RegistryError(.digestInvalid, message: "invalid \(algorithm.rawValue) digest encoding")
        }
        self.algorithm = algorithm
        self.hex = hex
    }

    /// Parses `<algorithm>:<hex>`. Unknown algorithms and malformed encodings are DIGEST_INVALID.
    public init(parsing text: some StringProtocol) throws(RegistryError) {
        let text = String(text)
        guard text.utf8.count <= 200, let colon = text.firstIndex(of: ":") else {
            throw RegistryError(.digestInvalid, message: "invalid digest format")
        }
        guard let algorithm = DigestAlgorithm(rawValue: String(text[..<colon])) else {
            throw RegistryError(.digestInvalid, message: "unsupported digest algorithm")
        }
        try self.init(algorithm: algorithm, hex: String(text[text.index(after: colon)...]))
    }

    public static func compute(_ bytes: some Sequence<UInt8>, algorithm: DigestAlgorithm = .sha256) -> Digest {
        var hasher = DigestHasher(algorithm: algorithm)
        hasher.update(Array(bytes))
        return hasher.finalize()
    }

    public var description: String { "\(algorithm.rawValue):\(hex)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid digest \(text.prefix(80))"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    static func isLowerHex(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
    }
}
