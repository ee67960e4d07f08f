/// Why authentication or authorization did not succeed. Only `.unauthorized` is a failed
/// login; `.unavailable` means a backend (database, LDAP, program) could not answer, which
/// must neither count against the account nor look like a wrong password.
public enum AuthError: Error, Sendable, Equatable, CustomStringConvertible {
    case badRequest(String)
    case unauthorized(String)
    /// Refused by the failed-login limiter; the client may try again after this many seconds.
    case tooManyRequests(retryAfter: Int)
    case configuration(String)
    case unavailable(String)
    /// The credentials are right but the account may not log in (disabled, expired): a 401
    /// like a wrong password, but no guess, so not counted against the client.
    case inactive(String)

    /// A 401: wrong credentials or an account that may not log in.
    public var isRefusal: Bool {
        switch self {
        case .unauthorized, .inactive: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .badRequest(let m), .unauthorized(let m), .configuration(let m), .inactive(let m): m
        case .unavailable(let m): "identity or access backend unavailable: \(m)"
        case .tooManyRequests(let seconds): "too many failed attempts; try again in \(seconds) s"
        }
    }
}
