import Foundation
#if canImport(_FoundationICU)
import _FoundationICU
#endif

/// A compiled `/regex/` of a rule, matched with a bound on the work: Foundation's engine
/// (ICU) backtracks, so a pattern with nested repetition (`(a*aa)+`) takes exponential time
/// on a name the client chose, where docker_auth's Go RE2 is linear. On Linux the match runs
/// on ICU's own API with its step limit (the library NSRegularExpression is built on, so the
/// syntax is the same); a match that reaches the limit is reported as `exhausted` and the
/// caller must fail closed. Where that API is not available NSRegularExpression runs unbounded.
final class BoundedRegex: @unchecked Sendable {
    enum Outcome: Equatable {
        /// The whole match and each capture group ("" for a group that took no part).
        case match([String])
        case noMatch
        /// The match was abandoned at the step limit.
        case exhausted
    }

    /// ICU's time limit, in its match-engine steps: a few milliseconds. Rule patterns on
    /// names of at most a few hundred characters finish far below it.
    static let stepLimit: Int32 = 50

    #if canImport(_FoundationICU)
    // Compiled once; each match clones it (ICU's way to match from several threads).
    private let compiled: OpaquePointer

    init?(_ pattern: String) {
        var status = U_ZERO_ERROR
        let utf16 = Array(pattern.utf16)
        guard let compiled = swift_uregex_open(utf16, Int32(utf16.count), 0, nil, &status), status.rawValue <= 0 else { return nil }
        self.compiled = compiled
    }

    deinit { swift_uregex_close(compiled) }

    func firstMatch(in value: String) -> Outcome {
        var status = U_ZERO_ERROR
        guard let matcher = swift_uregex_clone(compiled, &status), status.rawValue <= 0 else { return .exhausted }
        defer { swift_uregex_close(matcher) }
        let text = Array(value.utf16)
        return text.withUnsafeBufferPointer { buffer -> Outcome in
            swift_uregex_setText(matcher, buffer.baseAddress ?? UnsafePointer([UInt16]()), Int32(buffer.count), &status)
            swift_uregex_setTimeLimit(matcher, Self.stepLimit, &status)
            guard status.rawValue <= 0 else { return .exhausted }
            let found = swift_uregex_find(matcher, 0, &status)
            if status == U_REGEX_TIME_OUT || status == U_REGEX_STACK_OVERFLOW || status.rawValue > 0 { return .exhausted }
            guard found != 0 else { return .noMatch }
            let groups = Int(swift_uregex_groupCount(matcher, &status))
            return .match((0...max(0, groups)).map { group in
                let start = Int(swift_uregex_start(matcher, Int32(group), &status))
                let end = Int(swift_uregex_end(matcher, Int32(group), &status))
                guard start >= 0, end >= start, end <= text.count else { return "" }
                return String(decoding: text[start..<end], as: UTF16.self)
            })
        }
    }
    #else
    private let compiled: NSRegularExpression

    init?(_ pattern: String) {
        guard let compiled = try? NSRegularExpression(pattern: pattern) else { return nil }
        self.compiled = compiled
    }

    func firstMatch(in value: String) -> Outcome {
        guard let match = compiled.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) else { return .noMatch }
        return .match((0..<match.numberOfRanges).map { i in
            Range(match.range(at: i), in: value).map { String(value[$0]) } ?? ""
        })
    }
    #endif
}
