/// Why authentication or authorization did not succeed. Only `.unauthorized` is a failed
/// login; `.unavailable` means a backend (database, LDAP, program) could not answer, which
/// must neither count against the account nor look like a wrong password.
public enum AuthError: Error, Sendable, Equatable, CustomStringConvertible {
    case badRequest(String)
    case unauthorized(String)
    case tooManyRequests
    case configuration(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .badRequest(let m), .unauthorized(let m), .configuration(let m): m
        case .unavailable(let m): "identity or access backend unavailable: \(m)"
        case .tooManyRequests: "too many failed attempts; try again later"
        }
    }
}
