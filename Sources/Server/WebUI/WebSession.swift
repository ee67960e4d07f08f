import Auth
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The web UI's session: a cookie holding the account, its expiry and the CSRF token,
/// signed with HMAC-SHA256 under a key kept in the storage (so replicas sharing it accept
/// each other's sessions). Nothing secret is in it; tampering makes the signature fail.
/// Its `sid` names a record on the server (`WebUIAccess.sessions`): signing out deletes it,
/// so a copied cookie stops working too.
struct WebSession: Codable, Equatable {
    var account: String
    /// Random; the server keeps only its SHA-256. Cookies without one (from before sessions
    /// were kept on the server) are refused.
    var sid: String?
    var issued: Int64
    var expires: Int64
    var csrf: String
    /// The labels at sign-in, used only for accounts no backend can look up.
    var labels: [String: [String]]?

    static let cookieName = "berth_session"
    /// Before sign-in, the login form's CSRF token lives in a cookie of its own.
    static let loginCookieName = "berth_login"
    static let lifetime = RefreshTokens.webSessionLifetime
    /// The client id its server-side record carries (beside docker's refresh tokens).
    static let clientID = RefreshTokens.webSessionClientID

    static func new(_ identity: Identity, now: Date = Date()) -> WebSession {
        let t = Int64(now.timeIntervalSince1970)
        return WebSession(account: identity.account, sid: randomToken(), issued: t, expires: t + lifetime, csrf: randomToken(),
                          labels: identity.labels.isEmpty ? nil : identity.labels)
    }

    /// The key of its server-side record.
    var recordID: String? { sid.map(RefreshTokens.id(of:)) }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// Signs and checks session cookies.
struct WebSessionSigner: Sendable {
    let key: SymmetricKey

    func encode(_ session: WebSession) -> String {
        let payload = Base64URL.encode(Array((try? JSONEncoder().encode(session)) ?? Data()))
        return payload + "." + sign(payload)
    }

    /// The session, if the cookie is ours, intact and not expired.
    func decode(_ cookie: String, now: Date = Date()) -> WebSession? {
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, cookie.utf8.count <= 4096,
              let signature = Base64URL.decode(parts[1]),
              HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Array(parts[0].utf8), using: key),
              let payload = Base64URL.decode(parts[0]),
              let session = try? JSONDecoder().decode(WebSession.self, from: payload),
              session.expires > Int64(now.timeIntervalSince1970) else { return nil }
        return session
    }

    /// Any value in a cookie, signed for `purpose` (a cookie sealed for one purpose is
    /// worthless for another).
    func seal(_ value: some Encodable, purpose: String) -> String {
        let payload = Base64URL.encode(Array((try? JSONEncoder().encode(value)) ?? Data()))
        return payload + "." + sign(purpose + ":" + payload)
    }

    func open<T: Decodable>(_ cookie: String, as type: T.Type, purpose: String) -> T? {
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, cookie.utf8.count <= 4096, let signature = Base64URL.decode(parts[1]),
              HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Array("\(purpose):\(parts[0])".utf8), using: key),
              let payload = Base64URL.decode(parts[0]) else { return nil }
        return try? JSONDecoder().decode(T.self, from: payload)
    }

    func sign(_ payload: String) -> String {
        Base64URL.encode(Array(HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: key)))
    }

    /// A CSRF token before sign-in: random, and signed so it cannot be planted by another
    /// site (which could only set a cookie it cannot sign).
    func loginToken() -> String {
        let token = WebSession.randomToken()
        return token + "." + sign("login:" + token)
    }

    func checkLoginToken(cookie: String?, form: String?) -> Bool {
        guard let cookie, let form, ConstantTime.equal(cookie, form) else { return false }
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let signature = Base64URL.decode(parts[1]) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Array("login:\(parts[0])".utf8), using: key)
    }
}

/// Constant-time comparison for CSRF tokens.
enum ConstantTime {
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}

enum Cookies {
    /// The value of cookie `name` in the request's Cookie headers.
    static func value(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return String(parts[1]).trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// `lax`: for a cookie that must come back with a top-level navigation from another site
    /// (a sign-in provider's redirect); every other cookie is `Strict`.
    static func set(_ name: String, _ value: String, path: String, secure: Bool, maxAge: Int64?, lax: Bool = false) -> String {
        var cookie = "\(name)=\(value); Path=\(path); HttpOnly; SameSite=\(lax ? "Lax" : "Strict")"
        if secure { cookie += "; Secure" }
        if let maxAge { cookie += "; Max-Age=\(maxAge)" }
        return cookie
    }
}
