import Foundation

/// A number of bytes as people write and read it: `10GiB`, `500MB`, `1.5T`, `1048576`.
/// K, M, G, T and KiB… are powers of 1024; KB, MB… of 1000.
public struct ByteSize: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let numberEnd = trimmed.firstIndex { !($0.isNumber || $0 == ".") } ?? trimmed.endIndex
        let unit = trimmed[numberEnd...].trimmingCharacters(in: .whitespaces).lowercased()
        guard let number = Double(trimmed[..<numberEnd]), number >= 0, let factor = Self.factors[unit] else {
            throw ByteSizeError(text: text)
        }
        let bytes = (number * factor).rounded()
        guard bytes < 9.0e18 else { throw ByteSizeError(text: text) }
        self.bytes = Int64(bytes)
    }

    private static let factors: [String: Double] = {
        var factors: [String: Double] = ["": 1, "b": 1]
        for (power, letter) in ["k", "m", "g", "t", "p"].enumerated() {
            let binary = pow(1024, Double(power + 1)), decimal = pow(1000, Double(power + 1))
            factors[letter] = binary
            factors[letter + "ib"] = binary
            factors[letter + "b"] = decimal
        }
        return factors
    }()

    /// `1.5 GiB`, `512 B`.
    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.bytes < rhs.bytes }
}

public struct ByteSizeError: Error, CustomStringConvertible {
    public var text: String
    public var description: String {
        "\(text.prefix(64)) is not a size: write a number with an optional unit, e.g. 10GiB, 500MB, 1.5T or 1048576"
    }
}
