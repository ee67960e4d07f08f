import Auth
import Foundation

/// Personal access tokens as passwords: a password with the token prefix is this backend's,
/// whichever backend holds the account, and is decided here (a SHA-256 and a lookup in the
/// snapshot, no bcrypt). The identity carries the token's scopes, so the policy chain grants
/// nothing beyond them, and its provenance, so it gets no refresh token and no web session
/// (a revoked token must stop working at once, not outlive itself in another credential).
struct AccessTokenIdentities: IdentityBackend {
    let directory: AccountDirectory

    func authenticate(user: String, password: String) async throws -> Identity? {
        guard password.hasPrefix(AccessTokenSecret.prefix) else { return nil }
        do {
            return try identity(user: user, password: password, in: try await directory.current())
        } catch let refusal as AuthError {
            if case .unavailable = refusal { throw refusal }
            // Created a moment ago on another replica, or by the CLI?
            guard await directory.reloadedBeforeRefusing() else { throw refusal }
            return try identity(user: user, password: password, in: directory.snapshot)
        }
    }

    private func identity(user: String, password: String, in snapshot: AccountSnapshot) throws(AuthError) -> Identity {
        let now = Date()
        guard password.utf8.count <= 256, let token = snapshot.accessTokens[RobotSecret.hash(password)],
              token.account == AccountName.canonical(user) else {
            throw .unauthorized("unknown or revoked access token")
        }
        guard token.isActive(at: now) else { throw .inactive("access token \(token.name) expired") }
        var labels = token.labels ?? [:]
        var validSince: Date?
        if let owner = snapshot.users[token.account] {
            if owner.disabled { throw .inactive("account disabled") }
            if !owner.isActive(at: now) { throw .inactive("account expired") }
            labels = owner.labels
            validSince = owner.credentialsValidSince
        }
        directory.recorder.accessTokenUsed(token.id, at: now)
        var identity = Identity(account: token.account, labels: labels, validSince: validSince, provenance: token.provenance, scopes: token.scopes)
        identity.accountHeldElsewhere = snapshot.users[token.account] == nil
        return identity
    }

    /// Not an account source: accounts are looked up in the backends that hold them.
    func lookup(user: String) async throws -> Identity? { nil }
}
