import Foundation

/// A docker_auth match pattern: `/regex/` (unanchored, as Go's `regexp.Match`) or a glob
/// with Go `path.Match` semantics (`*` and `?` do not cross `/`, `[...]` classes).
public enum Pattern {
    /// A glob that matches exactly `value`.
    public static func literal(_ value: String) -> String {
        var escaped = ""
        for c in value {
            if "*?[]\\".contains(c) { escaped.append("\\") }
            escaped.append(c)
        }
        return escaped
    }

    /// `/…/` with something between the slashes, on bytes, as docker_auth's `len(p) > 2`
    /// (so `//` is a literal glob, not an empty regex matching everything).
    public static func isRegex(_ pattern: String) -> Bool {
        pattern.utf8.count > 2 && pattern.utf8.first == UInt8(ascii: "/") && pattern.utf8.last == UInt8(ascii: "/")
    }

    /// A `/regex/` pattern's expression: the bytes between its slashes (a combining mark after
    /// the first slash stays part of the expression).
    static func regexBody(_ pattern: String) -> String {
        let bytes = pattern.utf8
        return String(Substring(bytes[bytes.index(after: bytes.startIndex)..<bytes.index(before: bytes.endIndex)]))
    }

    /// Validates a pattern at load time.
    public static func validate(_ pattern: String) throws(AuthError) {
        if isRegex(pattern) {
            guard BoundedRegex(regexBody(pattern)) != nil else {
                throw AuthError.configuration("invalid regular expression \(pattern)")
            }
        } else if globMatch(Array(pattern.unicodeScalars), Array("".unicodeScalars)) == nil {
            throw AuthError.configuration("invalid glob pattern \(pattern)")
        }
    }

    /// Whether `pattern` matches `value`; false also when a regex gave up at its step
    /// limit. Where that must deny rather than skip (ACL rules), use `evaluate`.
    public static func matches(_ pattern: String, _ value: String) -> Bool {
        evaluate(pattern, value) == true
    }

    /// Whether `pattern` matches `value`; nil when a regex gave up at its step limit.
    static func evaluate(_ pattern: String, _ value: String) -> Bool? {
        if isRegex(pattern) {
            switch regexMatch(regexBody(pattern), value) {
            case .match: return true
            case .noMatch: return false
            case .exhausted: return nil
            }
        }
        // Without a metacharacter a glob is the value itself (as in Go's path.Match), compared
        // on its bytes: most rules' account and type fields, on every request.
        if !pattern.utf8.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "\\") }) {
            return pattern.utf8.elementsEqual(value.utf8)
        }
        return globMatch(Array(pattern.unicodeScalars), Array(value.unicodeScalars)) ?? false
    }

    /// A `/regex/` pattern's match against `value`, with its capture groups (index 0 is the
    /// whole match). An expression that does not compile matches nothing.
    static func regexMatch(_ regex: String, _ value: String) -> BoundedRegex.Outcome {
        CompiledRegexes.shared.expression(regex)?.firstMatch(in: value) ?? .noMatch
    }

    /// Go's `path.Match`; nil when the pattern is malformed.
    static func globMatch(_ p: [Unicode.Scalar], _ s: [Unicode.Scalar]) -> Bool? {
        var pi = 0, si = 0
        var starP = -1, starS = -1
        var malformed = false
        func classMatch(_ at: Int, _ c: Unicode.Scalar) -> (matched: Bool, end: Int)? {
            var i = at + 1
            var negate = false
            if i < p.count, p[i] == "^" || p[i] == "!" { negate = true; i += 1 }
            var matched = false
            var first = true
            while i < p.count, p[i] != "]" || first {
                first = false
                var lo = p[i]
                if lo == "\\" { i += 1; guard i < p.count else { return nil }; lo = p[i] }
                var hi = lo
                if i + 2 < p.count, p[i + 1] == "-", p[i + 2] != "]" {
                    hi = p[i + 2]
                    if hi == "\\" { guard i + 3 < p.count else { return nil }; hi = p[i + 3]; i += 1 }
                    i += 2
                }
                if lo.value <= c.value && c.value <= hi.value { matched = true }
                i += 1
            }
            guard i < p.count else { return nil }
            return (matched != negate, i + 1)
        }
        while si < s.count {
            if pi < p.count {
                switch p[pi] {
                case "*":
                    starP = pi; starS = si; pi += 1; continue
                case "?":
                    if s[si] != "/" { pi += 1; si += 1; continue }
                case "[":
                    guard let (ok, end) = classMatch(pi, s[si]) else { malformed = true; break }
                    if ok && s[si] != "/" { pi = end; si += 1; continue }
                case "\\":
                    if pi + 1 < p.count, p[pi + 1] == s[si] { pi += 2; si += 1; continue }
                    if pi + 1 >= p.count { malformed = true }
                default:
                    if p[pi] == s[si] { pi += 1; si += 1; continue }
                }
            }
            if malformed { return nil }
            // Backtrack: let the last `*` absorb one more character, but never a `/`.
            if starP >= 0, s[starS] != "/" {
                starS += 1; si = starS; pi = starP + 1; continue
            }
            return false
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        if pi < p.count {
            // Go still reports syntax errors in the unmatched rest of the pattern.
            if p[pi...].contains("[") && !p[pi...].contains("]") { return nil }
            return false
        }
        return true
    }
}

/// Compiled regular expressions by pattern, failures included: rules are evaluated on every
/// token request, and compiling is the expensive part (Foundation also leaks a little on
/// every pattern that fails to compile, which a pattern built from a label value may).
final class CompiledRegexes: @unchecked Sendable {
    static let shared = CompiledRegexes()
    static let capacity = 4096

    private struct Entry { let expression: BoundedRegex? }
    private var entries: [String: Entry] = [:]
    private let lock = NSLock()

    func expression(_ pattern: String) -> BoundedRegex? {
        lock.lock()
        if let entry = entries[pattern] { lock.unlock(); return entry.expression }
        lock.unlock()
        let compiled = BoundedRegex(pattern)
        lock.lock()
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[pattern] = Entry(expression: compiled)
        lock.unlock()
        return compiled
    }
}
