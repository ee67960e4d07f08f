import COpenSSL
import OCI

/// SHA-256 whose running state can be saved and restored, in the encoding of Go's
/// crypto/sha256 `MarshalBinary` that Distribution keeps under an upload's
/// `hashstates/sha256/<offset>`. With it, a PATCH or the final PUT that reaches another
/// replica (or a restarted one) goes on hashing where the last request stopped instead of
/// reading the whole upload back from storage.
public struct ResumableSHA256: @unchecked Sendable {
    private var context = SHA256_CTX()
    static let marshaledSize = 4 + 32 + 64 + 8
    private static let magic: [UInt8] = Array("sha".utf8) + [0x03]

    public init() { SHA256_Init(&context) }

    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        guard let base = bufferPointer.baseAddress, bufferPointer.count > 0 else { return }
        SHA256_Update(&context, base, bufferPointer.count)
    }

    /// The number of bytes hashed so far.
    public var count: Int64 { Int64(bitPattern: (UInt64(context.Nh) << 32 | UInt64(context.Nl)) / 8) }

    public func finalize() -> Digest {
        var copy = context
        var bytes = [UInt8](repeating: 0, count: 32)
        SHA256_Final(&bytes, &copy)
        return try! Digest(algorithm: .sha256, hex: bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined())
    }

    /// Go's encoding: "sha\x03", the eight state words and the byte count big-endian, and
    /// the block buffer (its first count % 64 bytes meaningful, the rest zero).
    func marshaled() -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(Self.marshaledSize)
        withUnsafeBytes(of: context.h) { words in
            for i in 0..<8 { out += Self.bigEndian(UInt64(words.load(fromByteOffset: i * 4, as: UInt32.self)), bytes: 4) }
        }
        let buffered = Int(context.num)
        withUnsafeBytes(of: context.data) { out += $0[0..<buffered] }
        out += [UInt8](repeating: 0, count: 64 - buffered)
        out += Self.bigEndian(UInt64(count), bytes: 8)
        return out
    }

    init?(marshaled bytes: [UInt8]) {
        guard bytes.count == Self.marshaledSize, Array(bytes[0..<4]) == Self.magic else { return nil }
        func word(_ offset: Int, _ size: Int) -> UInt64 { bytes[offset..<offset + size].reduce(0) { $0 << 8 | UInt64($1) } }
        let length = word(100, 8)
        guard length < 1 << 60 else { return nil }
        SHA256_Init(&context)
        withUnsafeMutableBytes(of: &context.h) { words in
            for i in 0..<8 { words.storeBytes(of: UInt32(word(4 + i * 4, 4)), toByteOffset: i * 4, as: UInt32.self) }
        }
        let bits = length * 8
        context.Nl = UInt32(truncatingIfNeeded: bits)
        context.Nh = UInt32(truncatingIfNeeded: bits >> 32)
        let buffered = Int(length % 64)
        withUnsafeMutableBytes(of: &context.data) { data in
            for i in 0..<buffered { data[i] = bytes[36 + i] }
        }
        context.num = UInt32(buffered)
    }

    private static func bigEndian(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt64($0) * 8)) }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
