/// Parses Go duration strings as Distribution's config uses them: `168h`, `10s`, `1h30m`,
/// `500ms`. A bare number is read as nanoseconds, as Go's yaml decoding of an integer does.
public enum GoDuration {
    public static func seconds(_ text: String) -> Double? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if let n = Double(rest) { return n / 1e9 }
        var negative = false
        if rest.first == "-" { negative = true; rest = rest.dropFirst() } else if rest.first == "+" { rest = rest.dropFirst() }
        guard !rest.isEmpty else { return nil }
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("h", 3600), ("m", 60), ("s", 1)]
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return negative ? -total : total
    }
}

import Foundation
