import Crypto
import Foundation
import JWTKit
import Synchronization

/// Keyless CI: a token its CI system (GitHub Actions, GitLab CI, a Kubernetes service
/// account) already holds logs in as a password. Its signature is checked against the
/// issuer's published keys (fetched once, fetched again for a key id not seen before, at
/// most once a minute), then `iss`, `aud`, `exp`, `nbf` and, if set, `max_age`; the account
/// and labels come from its claims, so the ACL decides what it may do
/// (`name: "${labels:repository}/*"`). A password that is not a token of a configured
/// issuer is not this backend's: the next one is asked.
public final class WorkloadIdentities: IdentityBackend, Sendable {
    let issuers: [String: WorkloadIssuer]
    let source: any KeySetSource
    let clock: @Sendable () -> Date

    struct Keys {
        var collection: JWTKeyCollection
        var families: [String: String]
        var fetchedAt: ContinuousClock.Instant
    }
    private let keys = Mutex<[String: Keys]>([:])
    /// When each issuer's keys were last asked for.
    private let attempts = Mutex<[String: ContinuousClock.Instant]>([:])

    /// A token that verified, by its SHA-256: docker sends the same token with every token
    /// request of a job, and checking a signature costs more than the rest of a login. Kept
    /// until the token expires, five minutes at most; its time limits are checked at each use.
    private struct Verified {
        var identity: Identity
        var expires: Double
        var issuedAt: Double?
        var maxAge: Double?
        var until: ContinuousClock.Instant
    }
    private let verified = Mutex<[SHA256Digest: Verified]>([:])
    static let verifiedCapacity = 10_000
    static let verifiedLifetime: Duration = .seconds(300)

    static let leeway: TimeInterval = 60
    /// At most this often is an issuer asked for its keys again (for a key id not seen): a
    /// stream of made-up key ids cannot make Berth hammer it.
    let refetchInterval: Duration
    static let allowedAlgorithms = ["RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "ES256": "EC", "ES384": "EC"]

    public init(_ issuers: [WorkloadIssuer], source: any KeySetSource, refetchInterval: Duration = .seconds(60),
                clock: @escaping @Sendable () -> Date = Date.init) throws {
        self.refetchInterval = refetchInterval
        var byIssuer: [String: WorkloadIssuer] = [:]
        for issuer in issuers {
            let checked = try issuer.validated()
            guard byIssuer[Self.normalized(checked.issuer)] == nil else {
                throw AuthError.configuration("workload_auth: \(checked.issuer) is listed twice")
            }
            byIssuer[Self.normalized(checked.issuer)] = checked
        }
        self.issuers = byIssuer
        self.source = source
        self.clock = clock
    }

    public static func normalized(_ issuer: String) -> String { issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer }

    private struct Header: Decodable { var alg: String?; var kid: String?; var typ: String? }
    private struct Unverified: Decodable { var iss: String? }

    /// Only the signature: every claim is checked here, after it.
    struct SignedPayload: JWTPayload {
        var iss: String?
        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    public func authenticate(user: String, password: String) async throws -> Identity? {
        // A JWT: three base64url parts, the middle one naming a configured issuer.
        guard password.utf8.count <= 16 * 1024, password.utf8.lazy.filter({ $0 == UInt8(ascii: ".") }).count == 2 else { return nil }
        let hash = SHA256.hash(data: Array(password.utf8))
        if let known = verified.withLock({ $0[hash] }), ContinuousClock.now < known.until {
            let now = clock().timeIntervalSince1970
            guard now <= known.expires + Self.leeway else { throw AuthError.unauthorized("workload token expired") }
            if let maxAge = known.maxAge, let iat = known.issuedAt, now - iat > maxAge + Self.leeway {
                throw AuthError.unauthorized("workload token older than max_age")
            }
            return known.identity
        }
        guard let (claims, issuer) = try await signedClaims(password, called: "workload token") else { return nil }
        let identity = try identity(from: claims, issuer: issuer)
        let maxAge = try issuer.maxAge().map { Double($0.components.seconds) }
        let entry = Verified(identity: identity, expires: Self.number(claims["exp"]) ?? 0, issuedAt: Self.number(claims["iat"]),
                             maxAge: maxAge, until: .now + Self.verifiedLifetime)
        verified.withLock { cache in
            if cache.count >= Self.verifiedCapacity {
                let now = ContinuousClock.now
                cache = cache.filter { $0.value.until > now }
                if cache.count >= Self.verifiedCapacity { cache.removeAll(keepingCapacity: true) }
            }
            cache[hash] = entry
        }
        return identity
    }

    /// A token of one of the issuers, its signature, `iss`, `aud`, `exp` and `nbf` checked as
    /// for a workload login, and its claims: for OpenID Connect sign-in, whose id_token is
    /// checked against the same keys (the caller checks `nonce` and reads what it needs).
    public func verifiedClaims(_ token: String) async throws -> [String: Any] {
        guard let (claims, issuer) = try await signedClaims(token, called: "token") else {
            throw AuthError.unauthorized("not a token of a trusted issuer")
        }
        var checks = issuer
        checks.account_claim = "iss"
        checks.require = nil
        checks.labels = nil
        _ = try identity(from: claims, issuer: checks)
        return claims
    }

    /// The claims of a token of one of the issuers, once its signature holds against the
    /// issuer's keys (fetched on an unknown `kid`); nil when it names no trusted issuer.
    /// Refusals say what `called` was wrong.
    private func signedClaims(_ token: String, called: String) async throws -> (claims: [String: Any], issuer: WorkloadIssuer)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count <= 16 * 1024,
              let headerBytes = Base64URL.decode(parts[0]), let header = try? JSONDecoder().decode(Header.self, from: headerBytes),
              let payloadBytes = Base64URL.decode(parts[1]),
              let iss = (try? JSONDecoder().decode(Unverified.self, from: payloadBytes))?.iss,
              let issuer = issuers[Self.normalized(iss)] else { return nil }
        guard let alg = header.alg, let family = Self.allowedAlgorithms[alg] else {
            throw AuthError.unauthorized("\(called) signed with \(header.alg ?? "none"), not an allowed algorithm")
        }
        guard let kid = header.kid else { throw AuthError.unauthorized("\(called) without a key id") }
        let keys = try await self.keys(for: issuer, kid: kid)
        guard keys.families[kid] == family else {
            throw AuthError.unauthorized(keys.families[kid] == nil ? "\(called) signed by an unknown key" : "algorithm \(alg) does not fit the key")
        }
        do {
            _ = try await keys.collection.verify(token, as: SignedPayload.self)
        } catch {
            throw AuthError.unauthorized("\(called) signature does not verify")
        }
        guard let claims = (try? JSONSerialization.jsonObject(with: payloadBytes)) as? [String: Any] else {
            throw AuthError.unauthorized("\(called) claims are not a JSON object")
        }
        return (claims, issuer)
    }

    /// The claims' checks and what they name, once the signature holds.
    func identity(from claims: [String: Any], issuer: WorkloadIssuer) throws -> Identity {
        let now = clock().timeIntervalSince1970
        guard Self.normalized(claims["iss"] as? String ?? "") == Self.normalized(issuer.issuer) else {
            throw AuthError.unauthorized("workload token from another issuer")
        }
        let audiences = (claims["aud"] as? [String]) ?? (claims["aud"] as? String).map { [$0] } ?? []
        guard audiences.contains(issuer.audience) else { throw AuthError.unauthorized("workload token not meant for \(issuer.audience)") }
        guard let exp = Self.number(claims["exp"]) else { throw AuthError.unauthorized("workload token without an expiry") }
        guard now <= exp + Self.leeway else { throw AuthError.unauthorized("workload token expired") }
        if let nbf = Self.number(claims["nbf"]), now < nbf - Self.leeway { throw AuthError.unauthorized("workload token not yet valid") }
        if let maxAge = try issuer.maxAge() {
            guard let iat = Self.number(claims["iat"]) else { throw AuthError.unauthorized("workload token without an issue time") }
            let limit = Double(maxAge.components.seconds) + Double(maxAge.components.attoseconds) / 1e18
            guard now - iat <= limit + Self.leeway else { throw AuthError.unauthorized("workload token older than max_age") }
        }
        for (path, wanted) in (issuer.require ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard Self.values(claims, path: path) == [wanted] else {
                throw AuthError.unauthorized("workload token's \(path) is not \(wanted)")
            }
        }
        let claimName = issuer.account_claim ?? "sub"
        guard let claimed = Self.values(claims, path: claimName).first, !claimed.isEmpty else {
            throw AuthError.unauthorized("workload token has no \(claimName)")
        }
        var labels: [String: [String]] = [:]
        for (label, path) in issuer.labels ?? [:] {
            // Label values reach ACL patterns (`${labels:…}`): a value that would act as a
            // glob or regex there is left out rather than widen a rule.
            let values = Self.values(claims, path: path).filter { !$0.contains(where: Self.patternCharacters.contains) }
            if !values.isEmpty { labels[label] = values }
        }
        return Identity(account: Self.account(claimed, issuer: issuer.issuer), labels: labels, provenance: "workload token of \(issuer.issuer)")
    }

    public static let patternCharacters: Set<Character> = ["*", "?", "[", "]", "{", "}", "(", ")", "|", "\\", "^", "$", "+", "\n", "\r"]

    /// The account a token names. Local account names cannot contain `:`, and the subjects
    /// of GitHub, GitLab and Kubernetes tokens all do (`repo:…`, `project_path:…`,
    /// `system:serviceaccount:…`); any other value is prefixed with the issuer's host, so a
    /// token can never be a local account (`admin`) and inherit its rules.
    static func account(_ claimed: String, issuer: String) -> String {
        let name = claimed.contains(":") ? claimed : (URL(string: issuer)?.host ?? issuer) + ":" + claimed
        return String(name.prefix(256))
    }

    /// A claim by name, or by a dotted path into nested objects when no claim has the whole
    /// name (`kubernetes.io.namespace` is `{"kubernetes.io": {"namespace": …}}`).
    public static func values(_ claims: [String: Any], path: String) -> [String] {
        func strings(_ value: Any?) -> [String] {
            switch value {
            case let text as String: [text]
            case let list as [Any]: list.flatMap { strings($0) }
            case let number as NSNumber: [number.stringValue]
            default: []
            }
        }
        if let direct = claims[path] { return strings(direct) }
        let components = path.split(separator: ".").map(String.init)
        // Try every split: a key may itself contain dots.
        for cut in stride(from: components.count - 1, to: 0, by: -1) {
            let head = components[..<cut].joined(separator: ".")
            if let nested = claims[head] as? [String: Any] {
                let rest = values(nested, path: components[cut...].joined(separator: "."))
                if !rest.isEmpty { return rest }
            }
        }
        return []
    }

    static func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }

    /// The issuer's keys; fetched again when `kid` is not among them (a rotation), at most
    /// once per `refetchInterval` (every 5 s while none could be had yet), whatever the
    /// outcome, so neither made-up key ids nor an issuer that is down multiply the requests.
    /// Keys that cannot be had are the issuer being down: 503, not a refused login; the keys
    /// known before keep working meanwhile.
    private func keys(for issuer: WorkloadIssuer, kid: String) async throws -> Keys {
        let cached = keys.withLock { $0[issuer.issuer] }
        if let cached, cached.families[kid] != nil { return cached }
        let now = ContinuousClock.now
        let interval = cached == nil ? min(refetchInterval, .seconds(5)) : refetchInterval
        let mayFetch = attempts.withLock { attempts in
            if let last = attempts[issuer.issuer], now - last < interval { return false }
            attempts[issuer.issuer] = now
            return true
        }
        guard mayFetch else {
            if let cached { return cached }
            throw AuthError.unavailable("the keys of \(issuer.issuer) could not be fetched; trying again shortly")
        }
        do {
            let document = try await source.keySet(issuer: issuer.issuer, jwksURI: issuer.jwks_uri)
            let fresh = try await Self.parse(document, issuer: issuer.issuer)
            keys.withLock { $0[issuer.issuer] = fresh }
            return fresh
        } catch {
            if let cached { return cached }
            if let failure = error as? AuthError { throw failure }
            throw AuthError.unavailable("the keys of \(issuer.issuer) cannot be fetched: \(error)")
        }
    }

    static func parse(_ document: String, issuer: String) async throws -> Keys {
        struct Set: Decodable {
            struct Key: Decodable { var kid: String?; var kty: String?; var use: String?; var alg: String? }
            var keys: [Key]
        }
        guard let parsed = try? JSONDecoder().decode(Set.self, from: Data(document.utf8)) else {
            throw AuthError.unavailable("the key set of \(issuer) is not a JSON Web Key Set")
        }
        // Only signing keys of the allowed kinds, each with an id; HMAC ("oct") keys never.
        var families: [String: String] = [:]
        var usable: [[String: Any]] = []
        let raw = (try? JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])?["keys"] as? [[String: Any]] ?? []
        for (key, object) in zip(parsed.keys, raw) {
            guard let kid = key.kid, key.use == nil || key.use == "sig", let kty = key.kty, kty == "RSA" || kty == "EC" else { continue }
            families[kid] = kty
            usable.append(object)
        }
        let collection = JWTKeyCollection()
        if !usable.isEmpty {
            let json = String(decoding: try JSONSerialization.data(withJSONObject: ["keys": usable]), as: UTF8.self)
            do {
                try await collection.add(jwksJSON: json)
            } catch {
                throw AuthError.unavailable("the key set of \(issuer) could not be read: \(error)")
            }
        }
        return Keys(collection: collection, families: families, fetchedAt: .now)
    }

    /// A workload's account exists only while its token is valid: nothing to look up.
    public func lookup(user: String) async throws -> Identity? { nil }
    public var answersLookups: Bool { true }
}
