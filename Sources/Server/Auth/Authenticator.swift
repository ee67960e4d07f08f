import Auth
import Hummingbird
import OCI

/// Who is calling and how they proved it: what every front door (the registry API, the admin
/// API, the web UI's pages) learns from its authenticators before its access gate decides.
struct Caller: Sendable {
    enum Proof: Sendable {
        /// A password, or what stands in a password field (an access token, a CI job's
        /// token), checked by the identity backends: the access policy decides its rights.
        case password
        /// A registry token: it grants what it names and nothing else.
        case registryToken(TokenClaims)
        /// The web UI's session cookie, its account as it is now: the policy decides, as for
        /// a password.
        case session(WebSession)
    }

    var identity: Identity
    var proof: Proof

    var account: String { identity.account }
}

/// Turns one kind of credentials a request may carry into a `Caller`. A door asks its
/// authenticators in order; a new way to prove who one is (a session, a client certificate)
/// is a new conformer, not a new case in the doors.
protocol Authenticator: Sendable {
    /// nil when the request carries no credentials of this kind. Throws
    /// `AuthenticationFailure` when it carries wrong ones, and the `AuthError` of a check
    /// that cannot be made now (throttled, backend unavailable).
    func authenticate(_ request: Request, context: BerthRequestContext) async throws -> Caller?
}

/// Credentials were given and refused: the door answers with its challenge.
struct AuthenticationFailure: Error {
    var message: String
    /// A bearer token that does not verify (`error="invalid_token"` in a Bearer challenge).
    var invalidToken = false
}

extension Array where Element == any Authenticator {
    /// The caller the first authenticator that recognises the request's credentials proves;
    /// nil when none does (anonymous).
    func caller(of request: Request, context: BerthRequestContext) async throws -> Caller? {
        for authenticator in self {
            if let caller = try await authenticator.authenticate(request, context: context) { return caller }
        }
        return nil
    }
}

/// `Authorization: Bearer <registry token>`, verified against the token issuer's keys.
struct BearerTokenAuthenticator: Authenticator {
    let verifier: TokenVerifier

    func authenticate(_ request: Request, context: BerthRequestContext) async throws -> Caller? {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            return nil
        }
        let token = String(header.dropFirst(7).trimmingHTTPWhitespace())
        do {
            let claims = try await verifier.verify(token)
            return Caller(identity: Identity(account: claims.sub, labels: [:]), proof: .registryToken(claims))
        } catch {
            throw AuthenticationFailure(message: error.description, invalidToken: true)
        }
    }
}

/// `Authorization: Basic`, the password checked by `passwords`.
struct PasswordAuthenticator: Authenticator {
    let passwords: any PasswordChecker

    func authenticate(_ request: Request, context: BerthRequestContext) async throws -> Caller? {
        guard let given = TokenEndpoint.basicCredentials(request.headers[.authorization]), !given.user.isEmpty else { return nil }
        do {
            let identity = try await passwords.check(user: given.user, password: given.password, address: context.clientAddress)
            return Caller(identity: identity, proof: .password)
        } catch let error as AuthError {
            switch error {
            case .tooManyRequests, .unavailable: throw error
            // A backend that cannot be used as configured (an external program missing) cannot
            // answer: 503 and an error in the log, not a wrong password for the client to retype.
            case .configuration(let message): throw AuthError.unavailable(message)
            case .unauthorized, .inactive, .badRequest: throw AuthenticationFailure(message: "authentication failed")
            }
        }
    }
}
