/// Why an account operation was refused. `invalid` and `conflict` are the caller's to fix;
/// nothing is stored when they are thrown.
public enum AccountError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    case notFound(String)
    case conflict(String)

    public var description: String {
        switch self {
        case .invalid(let m), .notFound(let m), .conflict(let m): m
        }
    }
}
