import Client
import OCI

/// An upstream's answer sorted by what the mirror does with it: "not there" is final; "could
/// not ask" lets the mirror serve what it has.
enum UpstreamFailure: Error {
    case notFound(String)
    case unavailable(String)

    init(_ error: any Error, upstream: Upstream) {
        let host = upstream.displayName
        switch error {
        case let error as UpstreamFailure:
            self = error
        case ClientError.registry(let status, _, _) where status == 404:
            self = .notFound("not found on the upstream \(host)")
        case ClientError.registry(let status, _, _) where status == 401 || status == 403:
            // Docker Hub answers an unknown repository this way to anonymous callers.
            self = .notFound("the upstream \(host) refused access (unknown repository, or Berth's upstream credentials lack the right)")
        case ClientError.unauthorized(let message):
            self = .notFound("the upstream refused access: \(message)")
        case let error as ClientError:
            self = .unavailable("the upstream \(host) cannot be reached or failed: \(error)")
        case let error as RegistryError:
            self = .unavailable(error.message)
        default:
            self = .unavailable("the upstream \(host) failed: \(error)")
        }
    }

    var isUnavailable: Bool {
        if case .unavailable = self { return true }
        return false
    }

    func registryError(_ notFound: ErrorCode, detail: String) -> RegistryError {
        switch self {
        case .notFound(let message):
            return RegistryError(notFound, message: message, detailJSON: detail)
        case .unavailable(let message):
            return RegistryError(.unavailable, message: message, detailJSON: detail)
        }
    }
}
