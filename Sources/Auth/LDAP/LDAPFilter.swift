import Foundation

/// Text going into LDAP search filters and coming out of DNs.
enum LDAPText {
    /// RFC 4515 escaping of an assertion value: the characters with a meaning in a filter
    /// (and the ones docker_auth escapes besides) become `\XX`, so an account name such as
    /// `*` or `a)(uid=*` is a literal name, never a wildcard or a second condition.
    static func escapeFilterValue(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            if "\\*()\0!&|=<>~".unicodeScalars.contains(scalar) {
                out += "\\" + hex(UInt8(scalar.value))
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// RFC 4514 escaping of an attribute value inside a DN (for `initial_bind_as_user`'s
    /// `bind_dn` template).
    static func escapeDNValue(_ value: String) -> String {
        var out = ""
        let scalars = Array(value.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            switch scalar {
            case ",", "+", "\"", "\\", "<", ">", ";", "=":
                out += "\\" + String(scalar)
            case "#" where index == 0, " " where index == 0 || index == scalars.count - 1:
                out += "\\" + String(scalar)
            case "\0":
                out += "\\00"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }

    /// docker_auth's `parse_cn`: the value of the first RDN when it is a `cn`, with DN
    /// escapes undone; any other value as it is.
    static func commonName(ofDN dn: String) -> String {
        var value = ""
        var escaped = false
        var inValue = false
        var attribute = ""
        var hexPending: [Character] = []
        var bytes: [UInt8] = []
        func flushBytes() {
            if !bytes.isEmpty { value += String(decoding: bytes, as: UTF8.self); bytes.removeAll() }
        }
        for character in dn {
            if !inValue {
                if character == "=" { inValue = true; continue }
                attribute.append(character)
                continue
            }
            if !hexPending.isEmpty || escaped {
                if escaped, hexPending.isEmpty, !character.isHexDigit {
                    flushBytes(); value.append(character); escaped = false; continue
                }
                hexPending.append(character)
                escaped = false
                if hexPending.count == 2 {
                    if let byte = UInt8(String(hexPending), radix: 16) { bytes.append(byte) }
                    hexPending.removeAll()
                }
                continue
            }
            if character == "\\" { escaped = true; continue }
            if character == "," || character == "+" { break }
            flushBytes()
            value.append(character)
        }
        flushBytes()
        guard attribute.trimmingCharacters(in: .whitespaces).lowercased() == "cn", inValue else { return dn }
        return value.trimmingCharacters(in: .whitespaces)
    }
}
