import Foundation

/// An audit entry's detail as a person reads it: the JSON the store keeps (a rule's match, a
/// robot's repositories, labels) becomes `key=value` words; other text stays as it is.
enum AuditDetailText {
    static func readable(_ detail: String) -> String {
        if let whole = flattened(detail) { return whole }
        return detail.split(separator: " ", omittingEmptySubsequences: true).map { token in
            // A JSON word may end a clause: `labels {…}; expires never`.
            let word = String(token)
            let trailing = String(word.reversed().prefix { ";,.".contains($0) }.reversed())
            let body = String(word.dropLast(trailing.count))
            return flattened(body).map { $0 + trailing } ?? word
        }.joined(separator: " ")
    }

    /// Nil when `text` is not a JSON object or array.
    static func flattened(_ text: String) -> String? {
        guard let first = text.first, first == "{" || first == "[",
              let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else { return nil }
        return words(value, prefix: nil).joined(separator: " ")
    }

    private static func words(_ value: Any, prefix: String?) -> [String] {
        switch value {
        case let object as [String: Any]:
            return object.keys.sorted().flatMap { key in words(object[key]!, prefix: prefix.map { "\($0).\(key)" } ?? key) }
        case let array as [Any]:
            let items = array.map { scalar($0) ?? words($0, prefix: nil).joined(separator: " ") }
            return [(prefix.map { "\($0)=" } ?? "") + items.joined(separator: ",")]
        default:
            return [(prefix.map { "\($0)=" } ?? "") + (scalar(value) ?? "")]
        }
    }

    private static func scalar(_ value: Any) -> String? {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return number.stringValue
        case is NSNull: return "null"
        default: return nil
        }
    }
}
