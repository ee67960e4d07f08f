/// HTTP's optional whitespace (spaces and tabs, RFC 9110 §5.6.3) around a header's value or
/// parameter, trimmed on bytes: Foundation's `trimmingCharacters(in:)` goes through NSString, a
/// measurable cost on every request that carries credentials.
extension Substring {
    public func trimmingHTTPWhitespace() -> Substring {
        func isWhitespace(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }
        guard let first = utf8.firstIndex(where: { !isWhitespace($0) }), let last = utf8.lastIndex(where: { !isWhitespace($0) }) else { return "" }
        return self[first..<utf8.index(after: last)]
    }
}

extension String {
    public func trimmingHTTPWhitespace() -> Substring { self[...].trimmingHTTPWhitespace() }
}
