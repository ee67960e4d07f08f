import Crypto
import Foundation

/// One browser sign-in under way, kept in a signed cookie between the redirect to the
/// provider and its answer (no server state: any replica can finish it). `state` ties the
/// answer to this browser, `nonce` the id_token to this request, and the PKCE verifier the
/// code to this client (RFC 7636, S256).
public struct SignInFlow: Codable, Sendable, Equatable {
    public enum Purpose: String, Codable, Sendable {
        /// A web UI session.
        case session
        /// docker_auth's result page: a docker password.
        case dockerPassword
    }

    public var provider: String
    public var state: String
    public var nonce: String
    public var verifier: String
    public var purpose: Purpose
    /// Where the web UI goes afterwards (a path of the UI, checked when used).
    public var next: String?
    public var expires: Int64

    public static let lifetime: Int64 = 600

    public static func start(provider: String, purpose: Purpose, next: String?, now: Date = Date()) -> SignInFlow {
        SignInFlow(provider: provider, state: random(), nonce: random(), verifier: random() + random(), purpose: purpose, next: next,
                   expires: Int64(now.timeIntervalSince1970) + lifetime)
    }

    /// The PKCE challenge sent with the authorization request.
    public var challenge: String { Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8)))) }

    public func isExpired(at now: Date = Date()) -> Bool { Int64(now.timeIntervalSince1970) >= expires }

    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// Who a provider says signed in: the account name and the labels its claims give.
public struct FederatedIdentity: Sendable, Equatable {
    public var account: String
    public var labels: [String: [String]]
    /// The label names this provider decides (they replace the account's values of them).
    public var labelKeys: [String]
    /// For the audit log: "oidc https://accounts.google.com".
    public var provenance: String
    /// The provider's own, never reassigned id of the person (OIDC `sub`, GitHub's numeric
    /// id): an account is bound to it at first sign-in, so a name given up at the provider
    /// and taken by someone else (a renamed GitHub login, a reassigned email) is not the account.
    public var subject: String?

    public init(account: String, labels: [String: [String]], labelKeys: [String], provenance: String, subject: String? = nil) {
        self.subject = subject
        self.account = account
        self.labels = labels
        self.labelKeys = labelKeys
        self.provenance = provenance
    }

    /// The account and labels from verified claims: `user_claim` names the account, each of
    /// `labelClaims` gives a label of its name. Values that would act as ACL patterns are
    /// left out, as for workload tokens.
    public static func from(claims: [String: Any], userClaim: String, labelClaims: [String], provenance: String) throws(AuthError) -> FederatedIdentity {
        guard let account = WorkloadIdentities.values(claims, path: userClaim).first, !account.isEmpty, account.utf8.count <= 128 else {
            throw .unauthorized("the provider's answer has no usable \(userClaim)")
        }
        // An address the provider has not verified could be anyone's: only a verified one names an account.
        if userClaim == "email", (claims["email_verified"] as? Bool) != true, (claims["email_verified"] as? String) != "true" {
            throw .unauthorized("the provider does not say this email address is verified (email_verified); use another user_claim for it")
        }
        var labels: [String: [String]] = [:]
        for claim in labelClaims {
            let values = WorkloadIdentities.values(claims, path: claim).filter { !$0.contains(where: WorkloadIdentities.patternCharacters.contains) }
            if !values.isEmpty { labels[claim] = Array(values.prefix(256)) }
        }
        return FederatedIdentity(account: AccountName.canonical(account), labels: labels, labelKeys: labelClaims, provenance: provenance,
                                 subject: claims["sub"] as? String)
    }
}
