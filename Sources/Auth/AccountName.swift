import Foundation

/// One spelling per account name: Unicode NFC, applied at every door (token requests, Basic
/// auth, web sign-in, the admin API) before names are looked up, matched by ACL rules or
/// audited. Swift compares strings by canonical equivalence, so a decomposed spelling would
/// find the account but then miss the rules written for its composed name.
public enum AccountName {
    public static func canonical(_ name: String) -> String {
        // Pure ASCII is already NFC: the common case costs one scan.
        if name.utf8.allSatisfy({ $0 < 0x80 }) { return name }
        return name.precomposedStringWithCanonicalMapping
    }

    /// C0/C1 controls, no-break and other odd spaces, zero-width and bidirectional format characters, byte-order marks.
    public static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00..<0x20, 0x7F...0xA0, 0xAD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E,
             0x2000...0x200F, 0x2028...0x202F, 0x205F...0x206F, 0x3000, 0x3164, 0xFE00...0xFE0F, 0xFEFF, 0xFFA0, 0xFFF0...0xFFFB:
            return true
        default:
            return false
        }
    }

    /// Whether a name given at login may be an account at all (no control or invisible
    /// characters); others are refused before any backend is asked.
    public static func isAcceptable(_ name: String) -> Bool {
        !name.unicodeScalars.contains(where: isInvisible)
    }
}
