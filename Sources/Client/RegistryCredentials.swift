import Foundation

/// What the client presents when a registry asks: a user and password, or an identity
/// (refresh) token as `docker login` stores for token registries.
public enum RegistryCredentials: Sendable, Equatable {
    case anonymous
    case basic(username: String, password: String)
    case identityToken(String)
}
