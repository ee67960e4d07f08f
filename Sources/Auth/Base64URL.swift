import Foundation

/// Unpadded base64url (RFC 4648 §5), as JWTs, JWK thumbprints and Berth's opaque tokens use it.
/// Written over bytes: every token issued encodes twice, every token presented decodes three
/// times, and Foundation's way (through `Data`, with string replacements) was a visible part
/// of both.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Each byte's value in either alphabet (`-_` or the standard `+/`), or 0xFF.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        table[Int(UInt8(ascii: "+"))] = 62
        table[Int(UInt8(ascii: "/"))] = 63
        return table
    }()

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        if let encoded = bytes.withContiguousStorageIfAvailable({ encode(contiguous: $0) }) { return encoded }
        return Array(bytes).withUnsafeBufferPointer { encode(contiguous: $0) }
    }

    private static func encode(contiguous input: UnsafeBufferPointer<UInt8>) -> String {
        let count = input.count
        return String(unsafeUninitializedCapacity: (count * 4 + 2) / 3) { out in
            var o = 0
            var i = 0
            func put(_ sextet: UInt32) {
                out[o] = alphabet[Int(sextet & 0x3F)]
                o += 1
            }
            while i + 3 <= count {
                let group = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                put(group >> 18); put(group >> 12); put(group >> 6); put(group)
                i += 3
            }
            switch count - i {
            case 1:
                let group = UInt32(input[i]) << 16
                put(group >> 18); put(group >> 12)
            case 2:
                let group = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
                put(group >> 18); put(group >> 12); put(group >> 6)
            default:
                break
            }
            return o
        }
    }

    /// Decodes base64url with or without padding (the standard alphabet's `+` and `/` are
    /// read too); nil for anything else.
    public static func decode(_ text: some StringProtocol) -> Data? {
        var utf8 = Array(text.utf8)
        if utf8.count % 4 == 0 {
            for _ in 0..<2 where utf8.last == UInt8(ascii: "=") { utf8.removeLast() }
        }
        guard utf8.count % 4 != 1 else { return nil }
        var out = Data(capacity: utf8.count * 3 / 4)
        var group: UInt32 = 0
        var filled = 0
        for character in utf8 {
            let value = values[Int(character)]
            guard value != 0xFF else { return nil }
            group = group << 6 | UInt32(value)
            filled += 1
            if filled == 4 {
                out.append(UInt8(truncatingIfNeeded: group >> 16))
                out.append(UInt8(truncatingIfNeeded: group >> 8))
                out.append(UInt8(truncatingIfNeeded: group))
                group = 0
                filled = 0
            }
        }
        switch filled {
        case 2: out.append(UInt8(truncatingIfNeeded: group >> 4))
        case 3:
            out.append(UInt8(truncatingIfNeeded: group >> 10))
            out.append(UInt8(truncatingIfNeeded: group >> 2))
        default: break
        }
        return out
    }
}
