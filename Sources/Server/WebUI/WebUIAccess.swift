import Auth
import Foundation

/// Who the web UI's visitor is and what they may see: the server's `WebAccounts`, or none
/// (an open registry: everyone sees everything, nobody signs in).
struct WebUIAccess: Sendable {
    let accounts: (any WebAccounts)?

    static let open = WebUIAccess(accounts: nil)

    /// Whether there are accounts to sign in with (not an open registry).
    var hasAccounts: Bool { accounts != nil }

    /// Checks a password; only a wrong one counts against the limiter.
    func signIn(user: String, password: String, address: IPAddress?) async throws -> Identity {
        guard let accounts else { throw AuthError.badRequest("this registry has no accounts") }
        return try await accounts.signIn(user: user, password: password, address: address)
    }

    /// Where sessions are recorded: beside refresh tokens (the accounts database), or in
    /// the storage for htpasswd.
    var sessions: (any RefreshTokenStore)? { accounts?.sessions }

    /// Records a new session for `identity`; the cookie is worth nothing without it.
    func startSession(_ identity: Identity, now: Date = Date()) async throws -> WebSession {
        let session = WebSession.new(identity, now: now)
        guard let sessions, let id = session.recordID else { throw AuthError.badRequest("this registry has no accounts") }
        try await sessions.save(RefreshTokenRecord(account: identity.account, issuedAt: now, clientID: WebSession.clientID,
                                                   labels: session.labels, validSince: identity.validSince), id: id)
        // The accounts database purges its own; sessions kept in the storage go at sign-in,
        // once past their lifetime (a sign-in lists the live ones: a small team's few).
        if let files = sessions as? StorageRefreshTokenStore {
            try? await files.purge(issuedBefore: now.addingTimeInterval(-TimeInterval(WebSession.lifetime)))
        }
        return session
    }

    /// Signing out: the session's record goes, so the cookie is refused wherever it is used.
    func endSession(_ session: WebSession) async throws {
        guard let sessions, let id = session.recordID else { return }
        try await sessions.delete(id: id)
    }

    /// The signed-in account as it is now: nil when the session was signed out or revoked,
    /// or the account was removed, disabled, expired, re-created or had its password changed
    /// after the session began.
    func revalidate(_ session: WebSession) async -> Identity? {
        do {
            guard let sessions, let id = session.recordID, let record = try await sessions.load(id: id),
                  record.account == session.account, record.clientID == WebSession.clientID else { return nil }
            guard let identity = try await accounts?.current(session.account, remembered: session.labels),
                  RefreshTokens.stillValid(issuedUnder: record.validSince, issuedAt: record.issuedAt, current: identity.validSince) else {
                return nil
            }
            return identity
        } catch {
            return nil
        }
    }

    /// Who an unsigned visitor is: nobody, unless the rules give anonymous users something.
    func anonymous() async -> Identity? {
        guard let accounts else { return .anonymous }
        return await accounts.anonymous()
    }

    /// Whether the access policy runs a program per decision (ext_authz).
    var decidesOutOfProcess: Bool { accounts?.gate.policy?.decidesOutOfProcess ?? false }

    /// The actions `identity` has on `repository` among `wanted`.
    func granted(_ identity: Identity, repository: String, _ wanted: [String], address: IPAddress?) async -> Set<String> {
        await granted(identity, ResourceScope(type: "repository", name: repository, actions: wanted), address: address)
    }

    func granted(_ identity: Identity, _ scope: ResourceScope, address: IPAddress?) async -> Set<String> {
        guard let accounts else { return Set(scope.actions) }
        let caller = Caller(identity: identity, proof: .password)
        return (try? await accounts.gate.granted(caller, scope, address: address)).map(Set.init) ?? []
    }
}
