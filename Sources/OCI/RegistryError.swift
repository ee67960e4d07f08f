/// An error the registry reports to clients in the spec's JSON format.
public struct RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    /// Free-form detail, already JSON-encoded (so the type stays Sendable and Equatable).
    public var detailJSON: String?
    /// HTTP status when it differs from the code's usual one (e.g. 413 for an oversized manifest).
    public var statusOverride: Int?

    public init(_ code: ErrorCode, message: String? = nil, detailJSON: String? = nil, status: Int? = nil) {
        self.code = code
        self.message = message ?? code.defaultMessage
        self.detailJSON = detailJSON
        self.statusOverride = status
    }

    public var httpStatus: Int { statusOverride ?? code.httpStatus }

    public var description: String { "\(code.rawValue): \(message)" }

    /// `{"errors":[{"code":…,"message":…,"detail":…}]}`
    public var jsonBody: String {
        var out = #"{"errors":[{"code":"\#(code.rawValue)","message":"\#(JSONString.escape(message))""#
        if let detailJSON { out += #","detail":\#(detailJSON)"# }
        out += "}]}"
        return out
    }

    /// A detail object `{"key": "value"}` built safely from plain strings.
    public static func detail(_ pairs: KeyValuePairs<String, String>) -> String {
        "{" + pairs.map { "\"\(JSONString.escape($0.key))\":\"\(JSONString.escape($0.value))\"" }.joined(separator: ",") + "}"
    }
}

public enum JSONString {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

/// An error of a module below HTTP (content, policies, mirror) that knows which of the spec's
/// codes and statuses it is: the error middleware answers it so, and nothing below the
/// handlers needs to build an HTTP answer itself.
public protocol RegistryErrorConvertible: Error {
    var registryError: RegistryError { get }
}
