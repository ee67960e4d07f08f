/// RFC 3986 percent-decoding of a URL path component, on bytes (Foundation's
/// `removingPercentEncoding` goes through NSString, a measurable cost on every request).
/// A malformed escape, or one that decodes to invalid UTF-8, leaves the text as written.
public enum PercentDecoding {
    public static func decode(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        return decoded(text.utf8, plusIsSpace: false) ?? text
    }

    /// One field of an `application/x-www-form-urlencoded` body or query: `+` is a space,
    /// `%XX` a byte. A malformed escape leaves the field as written (spaces decoded).
    public static func decodeFormField(_ field: Substring.UTF8View) -> String {
        guard field.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(Substring(field)) }
        return decoded(field, plusIsSpace: true)
            ?? String(decoding: field.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    /// The decoded text, or nil for a malformed escape or invalid UTF-8.
    private static func decoded(_ bytes: some Collection<UInt8>, plusIsSpace: Bool) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                out.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                out.append(UInt8(ascii: " "))
            default:
                out.append(byte)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
