import OCI

/// Refusals of the content seam, in domain words; the error middleware maps each to the spec's
/// code and status through `RegistryErrorConvertible`.
public enum ContentError: Error, Equatable, Sendable, CustomStringConvertible, RegistryErrorConvertible {
    /// A repository policy refuses the change (an immutable tag, a quota); the message says
    /// which policy and why.
    case denied(String)

    public var description: String {
        switch self {
        case .denied(let message): message
        }
    }

    public var registryError: RegistryError {
        switch self {
        case .denied(let message): RegistryError(.denied, message: message)
        }
    }
}
