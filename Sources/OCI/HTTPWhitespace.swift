/// HTTP's optional whitespace (spaces and tabs, RFC 9110 §5.6.3) around a header's value or
/// parameter, trimmed on bytes: Foundation's `trimmingCharacters(in:)` goes through NSString, a
/// measurable cost on every request that carries credentials.
extension Substring {
    public func trimmingHTTPWhitespace() -> Substring {
        func isWhitespace(_ c: Character) -> Bool { c == " " || c == "\t" }
        guard let first = firstIndex(where: { !isWhitespace($0) }), let last = lastIndex(where: { !isWhitespace($0) }) else { return "" }
        return self[first...last]
    }
}

extension String {
    public func trimmingHTTPWhitespace() -> Substring { self[...].trimmingHTTPWhitespace() }
}
