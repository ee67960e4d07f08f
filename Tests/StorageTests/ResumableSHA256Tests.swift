import Crypto
import Foundation
import OCI
@testable import Storage
import Testing

/// The upload hash state: the same digest as swift-crypto's SHA-256 however the input is
/// split and saved, in exactly the bytes Go's crypto/sha256 `MarshalBinary` writes (what
/// Distribution keeps under `hashstates/sha256/<offset>`).
@Suite struct ResumableSHA256Tests {
    static func input(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7) } }

    /// Printed by Go 1.19's crypto/sha256 for `input(n)` (Debian's golang-go).
    static let goMarshaled: [(Int, String)] = [
        (0, "736861036a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19" + String(repeating: "0", count: 128) + "0000000000000000"),
        (3, "736861036a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19" + "00070e" + String(repeating: "0", count: 122) + "0000000000000003"),
        (64, "736861036c69017d0ec50641de6d1abdce75003d11218e34b3c98da12ff25b8982156de4" + String(repeating: "0", count: 128) + "0000000000000040"),
        (100, "736861036c69017d0ec50641de6d1abdce75003d11218e34b3c98da12ff25b8982156de4"
            + "c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0a7aeb5" + String(repeating: "0", count: 56) + "0000000000000064"),
    ]

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func savedStatesAreGosEncoding() {
        for (count, expected) in Self.goMarshaled {
            var hasher = ResumableSHA256()
            Self.input(count).withUnsafeBytes { hasher.update(bufferPointer: $0) }
            #expect(Self.hex(hasher.marshaled()) == expected, "\(count) bytes")
            #expect(hasher.marshaled().count == ResumableSHA256.marshaledSize)
        }
    }

    @Test func aRestoredStateGoesOnToTheSameDigest() throws {
        let data = Self.input(1000)
        let expected = try Digest(algorithm: .sha256, hex: Self.hex(Array(SHA256.hash(data: data))))
        for cut in [0, 1, 55, 56, 63, 64, 65, 127, 128, 500, 999, 1000] {
            var first = ResumableSHA256()
            data[..<cut].withUnsafeBytes { first.update(bufferPointer: $0) }
            var resumed = try #require(ResumableSHA256(marshaled: first.marshaled()), "cut \(cut)")
            #expect(resumed.count == Int64(cut))
            data[cut...].withUnsafeBytes { resumed.update(bufferPointer: $0) }
            #expect(resumed.finalize() == expected, "cut \(cut)")
        }
        // Go's own state for 100 bytes, continued here.
        let go = try #require(Self.goMarshaled.last)
        let bytes = stride(from: 0, to: go.1.count, by: 2).map { UInt8(go.1.dropFirst($0).prefix(2), radix: 16)! }
        var fromGo = try #require(ResumableSHA256(marshaled: bytes))
        data[100...].withUnsafeBytes { fromGo.update(bufferPointer: $0) }
        #expect(fromGo.finalize() == expected)
    }

    @Test func malformedStatesAreRefused() {
        let good = ResumableSHA256().marshaled()
        #expect(ResumableSHA256(marshaled: Array(good.dropLast())) == nil)
        #expect(ResumableSHA256(marshaled: [0x73, 0x68, 0x61, 0x02] + good.dropFirst(4)) == nil, "SHA-224's magic")
        #expect(ResumableSHA256(marshaled: []) == nil)
    }
}
