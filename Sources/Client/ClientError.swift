import OCI

public enum ClientError: Error, CustomStringConvertible, Sendable {
    case usage(String)
    /// The registry answered with an error status; `errors` are the spec's JSON errors.
    case registry(status: Int, errors: [RegistryErrorBody.Entry], url: String)
    case unauthorized(String)
    case invalidResponse(String)
    case transport(String, cause: TransportFailure.Kind = .other)

    public var description: String {
        switch self {
        case .usage(let m), .invalidResponse(let m), .transport(let m, _), .unauthorized(let m): return m
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

    /// What kind of failure below HTTP a `transport` error was.
    public var transportCause: TransportFailure.Kind? {
        if case .transport(_, let cause) = self { return cause }
        return nil
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
