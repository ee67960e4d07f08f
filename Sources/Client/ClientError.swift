import OCI

public enum ClientError: Error, CustomStringConvertible, Sendable {
    case usage(String)
    /// The registry answered with an error status; `errors` are the spec's JSON errors.
    case registry(status: Int, errors: [RegistryErrorBody.Entry], url: String)
    case unauthorized(String)
    case invalidResponse(String)
    case transport(String)

    public var description: String {
        switch self {
        case .usage(let m), .invalidResponse(let m), .transport(let m), .unauthorized(let m): return m
        case .registry(let status, let errors, let url):
            if errors.isEmpty { return "\(url): HTTP \(status)" }
            return "\(url): " + errors.map { "\($0.code): \($0.message ?? "")" }.joined(separator: "; ")
        }
    }

    /// True when the registry reported `code` (or, without a body, a matching status).
    public func has(_ code: ErrorCode) -> Bool {
        if case .registry(_, let errors, _) = self { return errors.contains { $0.code == code.rawValue } }
        return false
    }

    public var status: Int? {
        if case .registry(let status, _, _) = self { return status }
        return nil
    }
}

/// `{"errors":[{"code","message","detail"}]}`
public struct RegistryErrorBody: Decodable, Sendable {
    public struct Entry: Decodable, Sendable {
        public var code: String
        public var message: String?
    }
    public var errors: [Entry]
}
