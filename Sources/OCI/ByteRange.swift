/// A single `Range: bytes=…` request resolved against a known size.
public enum ByteRange: Equatable, Sendable {
    /// Serve the whole entity (no Range, or one we choose to ignore such as multiple ranges).
    case full
    case partial(Range<Int64>)
    case unsatisfiable

    public init(header: String?, size: Int64) {
        guard let header = header?.trimmingCharacters(in: .whitespaces), header.lowercased().hasPrefix("bytes=") else {
            self = .full
            return
        }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        // Multiple ranges are legal to ignore (RFC 9110 §14.2): answer with the full body.
        guard !spec.utf8.contains(UInt8(ascii: ",")), let dash = spec.firstIndex(of: "-") else {
            self = .full
            return
        }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int64(last), suffix >= 0 else { self = .full; return }
            if suffix == 0 || size == 0 { self = .unsatisfiable; return }
            self = .partial(max(0, size - suffix)..<size)
            return
        }
        guard let start = Int64(first), start >= 0 else { self = .full; return }
        var end = size - 1
        if !last.isEmpty {
            guard let e = Int64(last) else { self = .full; return }
            // A last position before the first is invalid (RFC 9110 §14.1.1), and RFC 9110
            // lets a server reject it: 416, as Distribution (Go's net/http) and the OCI
            // conformance suite's range tests expect.
            guard e >= start else { self = .unsatisfiable; return }
            end = min(e, size - 1)
        }
        self = start < size ? .partial(start..<(end + 1)) : .unsatisfiable
    }
}

import Foundation

/// An upload chunk's `Content-Range: <start>-<end>` (also `bytes=` or `bytes ` before it,
/// as clients send); nil when it is not one.
public struct ContentRange: Equatable, Sendable {
    public var start: Int64
    public var end: Int64
    /// The chunk's length, `end - start + 1`.
    public var length: Int64 { end - start + 1 }

    public init?(_ header: String) {
        var text = header.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("bytes=") || text.hasPrefix("bytes ") { text.removeFirst(6) }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        // end < Int64.max keeps `length` from overflowing.
        guard parts.count == 2, let start = Int64(parts[0]), let end = Int64(parts[1]),
              start >= 0, end >= start, end < Int64.max else { return nil }
        self.start = start
        self.end = end
    }
}
