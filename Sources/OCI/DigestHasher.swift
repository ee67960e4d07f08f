import Crypto

/// Incremental digest computation; a value type, so a partially-fed hasher can be kept and
/// resumed when an upload continues in a later request.
public struct DigestHasher: Sendable {
    public let algorithm: DigestAlgorithm
    private var state: State

    private enum State: Sendable {
        case sha256(SHA256)
        case sha384(SHA384)
        case sha512(SHA512)
    }

    public init(algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .sha256: state = .sha256(SHA256())
        case .sha384: state = .sha384(SHA384())
        case .sha512: state = .sha512(SHA512())
        }
    }

    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        switch state {
        case .sha256(var h): h.update(bufferPointer: bufferPointer); state = .sha256(h)
        case .sha384(var h): h.update(bufferPointer: bufferPointer); state = .sha384(h)
        case .sha512(var h): h.update(bufferPointer: bufferPointer); state = .sha512(h)
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update(bufferPointer: $0) }
    }

    public func finalize() -> Digest {
        let bytes: [UInt8]
        switch state {
        case .sha256(let h): bytes = Array(h.finalize())
        case .sha384(let h): bytes = Array(h.finalize())
        case .sha512(let h): bytes = Array(h.finalize())
        }
        // The encoding is produced here, so it is valid by construction.
        return try! Digest(algorithm: algorithm, hex: Hex.encode(bytes))
    }
}

enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
