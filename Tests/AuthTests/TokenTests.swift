@testable import Auth
import Crypto
import Foundation
import JWTKit
import Synchronization
import Testing
import X509
import _CryptoExtras

@Suite struct TokenTests {
    static let access = [ResourceScope(type: "repository", name: "team/app", actions: ["pull", "push"])]

    func rsaKey() throws -> SigningKey {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try DistinguishedName { CommonName("rsa signer") }
        let cert = try Certificate(version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                                   notValidBefore: Date() - 3600, notValidAfter: Date() + 86400, issuer: name, subject: name,
                                   signatureAlgorithm: .sha256WithRSAEncryption, extensions: try Certificate.Extensions {
                                       Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                                   }, issuerPrivateKey: .init(key))
        return try SigningKey(key: .rsa(key), certificates: [cert])
    }

    @Test(arguments: ["ES256", "RS256"])
    func issuedTokensVerify(_ algorithm: String) async throws {
        let key = algorithm == "ES256" ? try SigningKey.generate() : try rsaKey()
        #expect(key.algorithm == algorithm)
        let issuer = try await TokenIssuer(issuer: "Berth", expiration: 300, signingKey: key)
        let (token, expiresIn, _) = try await issuer.issue(subject: "alice", audience: "registry", access: Self.access)
        #expect(expiresIn == 300)
        let header = try JSONSerialization.jsonObject(with: TokenVerifier.base64URL(token.split(separator: ".")[0])!) as! [String: Any]
        #expect(header["alg"] as? String == algorithm)
        #expect(header["kid"] as? String == key.libtrustKeyID)
        #expect((header["x5c"] as? [String])?.count == 1)
        // x5c is standard base64 of the certificate's DER (RFC 7515 4.1.6), not PEM.
        var serializer = DER.Serializer()
        try serializer.serialize(key.certificates[0])
        #expect((header["x5c"] as? [String])?.first.flatMap { Data(base64Encoded: $0) } == Data(serializer.serializedBytes))
        let verifier = try await TokenVerifier(issuer: "Berth", service: "registry", roots: key.certificates)
        let claims = try await verifier.verify(token)
        #expect(claims.sub == "alice")
        #expect(claims.grants(type: "repository", name: "team/app", action: "push"))
        #expect(!claims.grants(type: "repository", name: "team/other", action: "pull"))
    }

    /// RS256 signatures come from OpenSSL: PKCS#1 v1.5 is deterministic, so they must be
    /// byte for byte BoringSSL's (swift-crypto's), also when many are made at once.
    @Test func openSSLSignsRS256AsBoringSSLDoes() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let signer = try OpenSSLRS256(privateKeyPEM: key.pemRepresentation)
        #expect(signer.name == "RS256")
        let messages = (0..<32).map { Array("header.claims-\($0)".utf8) }
        let signatures = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for (index, message) in messages.enumerated() { group.addTask { (index, try signer.sign(message)) } }
            var out: [Int: [UInt8]] = [:]
            for try await (index, signature) in group { out[index] = signature }
            return out
        }
        for (index, message) in messages.enumerated() {
            let expected = try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
            #expect(signatures[index] == Array(expected.rawRepresentation), "message \(index)")
        }
        #expect(throws: AuthError.self) { try OpenSSLRS256(privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n") }
        #expect(throws: AuthError.self) { try OpenSSLRS256(privateKeyPEM: P256.Signing.PrivateKey().pemRepresentation) }
    }

    /// Claims are JSON whatever an account or service is called, and every token of one
    /// account, service and grant gets its own times and id (the encoded rest is cached).
    @Test func claimsOfAnyNameAndFreshTimesPerToken() async throws {
        let key = try SigningKey.generate()
        let issuer = try await TokenIssuer(issuer: "Berth \"β\"", expiration: 60, signingKey: key)
        let verifier = try await TokenVerifier(issuer: "Berth \"β\"", service: "reg\\istry\u{1}/x", roots: key.certificates)
        let access = [ResourceScope(type: "repository", name: "team/app", actions: ["pull"]),
                      ResourceScope(type: "registry", name: "catalog", actions: ["*"])]
        var ids: Set<String> = []
        for (n, subject) in ["alice", "we\"ird\\ñame\u{7}", "alice"].enumerated() {
            let now = Date(timeIntervalSince1970: 1_800_000_000 + Double(n))
            let token = try await issuer.issue(subject: subject, audience: "reg\\istry\u{1}/x", access: access, now: now).token
            let payload = try JSONDecoder().decode(TokenClaims.self, from: TokenVerifier.base64URL(token.split(separator: ".")[1])!)
            #expect(payload.sub == subject)
            #expect(payload.iss == "Berth \"β\"")
            #expect(payload.aud == .one("reg\\istry\u{1}/x"))
            #expect(payload.access == access)
            #expect(payload.iat == Int64(now.timeIntervalSince1970))
            #expect(payload.exp == payload.iat + 60 && payload.nbf == payload.iat - 10)
            ids.insert(payload.jti)
            if n == 2 { break }
            _ = try await verifier.verify(try await issuer.issue(subject: subject, audience: "reg\\istry\u{1}/x", access: access).token)
        }
        #expect(ids.count == 3)
    }

    @Test func claimsCacheStaysBounded() throws {
        let cache = ClaimsCache(issuer: "i")
        for n in 0...ClaimsCache.capacity {
            let json = try cache.claims(.init(subject: "u\(n)", audience: "a", access: []), exp: 2, nbf: 0, iat: 1, jti: 9)
            #expect(try JSONDecoder().decode(TokenClaims.self, from: Data(json)).sub == "u\(n)")
            #expect(cache.count <= ClaimsCache.capacity)
        }
        #expect(cache.count == 1)
    }

    /// The token response body is exactly what JSONEncoder with sorted keys writes.
    @Test func tokenResponseBody() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for response in [TokenResponse(token: "aa.bb-_.cc", access_token: "aa.bb-_.cc", expires_in: 300, issued_at: "2026-12-02T07:00:00Z", refresh_token: nil),
                         TokenResponse(token: "t", access_token: "t", expires_in: 0, issued_at: "x", refresh_token: "brt_AbC-_"),
                         TokenResponse(token: "q\"uote", access_token: "back\\slash", expires_in: -1, issued_at: "é\u{1}", refresh_token: "a b")] {
            #expect(try response.json() == [UInt8](try encoder.encode(response)))
        }
    }

    @Test func libtrustKeyIDFormat() throws {
        let id = try SigningKey.generate().libtrustKeyID
        #expect(id.count == 59)
        #expect(id.split(separator: ":").count == 12)
        #expect(id.allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567:".contains($0) })
    }

    /// Builds a token by hand, to forge what a real issuer never would.
    func forge(header: [String: Any], claims: [String: Any], sign: (Data) throws -> Data) rethrows -> String {
        func b64(_ d: Data) -> String {
            d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let h = b64(try! JSONSerialization.data(withJSONObject: header)), c = b64(try! JSONSerialization.data(withJSONObject: claims))
        return "\(h).\(c).\(b64(try sign(Data("\(h).\(c)".utf8))))"
    }

    func claims(iss: String = "Berth", aud: Any = "registry", exp: Int = 300, nbf: Int = -10) -> [String: Any] {
        let now = Int(Date().timeIntervalSince1970)
        return ["iss": iss, "sub": "mallory", "aud": aud, "exp": now + exp, "nbf": now + nbf, "iat": now, "jti": "1",
                "access": [["type": "repository", "name": "team/app", "actions": ["pull", "push"]]]]
    }

    /// Distribution 2.8 accepts a token whose only key reference is an embedded `jwk`, when
    /// that key's libtrust id is trusted; the embedded key itself is never trusted.
    @Test func embeddedJWKOnlyByATrustedKeyID() async throws {
        let key = try SigningKey.generate()
        guard case .ecdsaP256(let ec) = key.key else { return }
        let verifier = try await TokenVerifier(issuer: "Berth", service: "registry", roots: key.certificates)
        func jwk(_ publicKey: P256.Signing.PublicKey) -> [String: Any] {
            let raw = Array(publicKey.rawRepresentation)
            return ["kty": "EC", "crv": "P-256", "x": KeyID.b64(Array(raw[0..<32])), "y": KeyID.b64(Array(raw[32...]))]
        }
        let trusted = try forge(header: ["alg": "ES256", "jwk": jwk(ec.publicKey)], claims: claims()) { try ec.signature(for: $0).rawRepresentation }
        #expect(try await verifier.verify(trusted).sub == "mallory")

        let attacker = P256.Signing.PrivateKey()
        let ownKey = try forge(header: ["alg": "ES256", "jwk": jwk(attacker.publicKey)], claims: claims()) { try attacker.signature(for: $0).rawRepresentation }
        let borrowedKey = try forge(header: ["alg": "ES256", "jwk": jwk(ec.publicKey)], claims: claims()) { try attacker.signature(for: $0).rawRepresentation }
        let wrongFamily = try forge(header: ["alg": "RS256", "jwk": jwk(ec.publicKey)], claims: claims()) { try ec.signature(for: $0).rawRepresentation }
        for token in [ownKey, borrowedKey, wrongFamily] {
            await #expect(throws: TokenVerifier.Failure.self) { _ = try await verifier.verify(token) }
        }
    }

    @Test func refusesForgedExpiredAndMisdirectedTokens() async throws {
        let key = try SigningKey.generate()
        guard case .ecdsaP256(let ec) = key.key else { return }
        let verifier = try await TokenVerifier(issuer: "Berth", service: "registry", roots: key.certificates)
        let kid = key.libtrustKeyID
        let es256: (Data) throws -> Data = { try ec.signature(for: $0).rawRepresentation }
        let good = try forge(header: ["alg": "ES256", "kid": kid], claims: claims(), sign: es256)
        #expect(try await verifier.verify(good).sub == "mallory")
        // Array audiences (Distribution 3 style) are understood.
        #expect(try await verifier.verify(try forge(header: ["alg": "ES256", "kid": kid], claims: claims(aud: ["x", "registry"]), sign: es256)).sub == "mallory")

        let other = P256.Signing.PrivateKey()
        let publicDER = key.certificates[0].publicKey
        var serializer = DER.Serializer(); try serializer.serialize(publicDER)
        let hmacWithPublicKey: (Data) -> Data = { Data(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: serializer.serializedBytes))) }
        let rejected: [(String, String)] = [
            ("alg none", forge(header: ["alg": "none", "kid": kid], claims: claims()) { _ in Data() }),
            ("HS256 keyed with the public key", forge(header: ["alg": "HS256", "kid": kid], claims: claims(), sign: hmacWithPublicKey)),
            ("RS256 header on an EC key", try forge(header: ["alg": "RS256", "kid": kid], claims: claims(), sign: es256)),
            ("expired", try forge(header: ["alg": "ES256", "kid": kid], claims: claims(exp: -61), sign: es256)),
            ("not yet valid", try forge(header: ["alg": "ES256", "kid": kid], claims: claims(nbf: 61), sign: es256)),
            ("wrong issuer", try forge(header: ["alg": "ES256", "kid": kid], claims: claims(iss: "Evil"), sign: es256)),
            ("wrong audience", try forge(header: ["alg": "ES256", "kid": kid], claims: claims(aud: "other"), sign: es256)),
            ("unknown key", try forge(header: ["alg": "ES256", "kid": kid], claims: claims()) { try other.signature(for: $0).rawRepresentation }),
            ("unknown kid", try forge(header: ["alg": "ES256", "kid": "AAAA"], claims: claims(), sign: es256)),
            ("tampered payload", {
                var parts = good.split(separator: ".").map(String.init)
                parts[1] = try! forge(header: [:], claims: claims(exp: 99999)) { _ in Data() }.split(separator: ".")[1].description
                return parts.joined(separator: ".")
            }()),
            ("malformed", "not.a-token"),
            ("garbage", "a.b.c"),
        ]
        for (name, token) in rejected {
            await #expect(throws: TokenVerifier.Failure.self, "\(name)") { _ = try await verifier.verify(token) }
        }
    }

    @Test func x5cChainsMustLeadToATrustedRoot() async throws {
        let trusted = try SigningKey.generate()
        let stranger = try SigningKey.generate()
        let verifier = try await TokenVerifier(issuer: "Berth", service: "registry", roots: trusted.certificates)
        let forged = try await TokenIssuer(issuer: "Berth", expiration: 60, signingKey: stranger)
            .issue(subject: "x", audience: "registry", access: Self.access).token
        await #expect(throws: TokenVerifier.Failure.self) { _ = try await verifier.verify(forged) }
    }

    /// Identical checks that arrive together share one bcrypt; failures are not remembered.
    @Test func concurrentIdenticalChecksShareOneBcrypt() async throws {
        let cache = VerifiedCredentialCache()
        final class Runs: Sendable {
            let count = Mutex(0)
            var value: Int { count.withLock { $0 } }
        }
        let counter = Runs()
        @Sendable func check(_ answer: Bool) -> @Sendable () async throws -> Bool {
            { counter.count.withLock { $0 += 1 }; try await Task.sleep(for: .milliseconds(100)); return answer }
        }
        let key = VerifiedCredentialCache.key("ci", "$2y$hash", "pw")
        let granted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<32 { group.addTask { try await cache.verify(key, check: check(true)) } }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(granted == Array(repeating: true, count: 32))
        #expect(counter.value == 1)
        #expect(try await cache.verify(key, check: check(true)))
        #expect(counter.value == 1)
        // Past its lifetime a success is checked again.
        let expiring = VerifiedCredentialCache(lifetime: .zero)
        #expect(try await expiring.verify(key, check: check(true)))
        #expect(try await expiring.verify(key, check: check(true)))
        #expect(counter.value == 3)

        let wrong = VerifiedCredentialCache.key("ci", "$2y$hash", "wrong")
        let refused = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { try await cache.verify(wrong, check: check(false)) } }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(refused == Array(repeating: false, count: 8))
        #expect((4...11).contains(counter.value))
        let before = counter.value
        #expect(try await cache.verify(wrong, check: check(false)) == false)
        #expect(counter.value == before + 1)
    }

    @Test func bcryptAcceptsHtpasswdPrefixes() async throws {
        let hash = HummingbirdBcryptHash.make("s3cret")
        let users = StaticUsers(["ci": .init(password: "$2y$" + hash.dropFirst(4), labels: ["team": ["build"]]), "": .init()])
        #expect(try await users.authenticate(user: "ci", password: "s3cret")?.labels == ["team": ["build"]])
        // A second time comes from the verified-credential cache.
        #expect(try await users.authenticate(user: "ci", password: "s3cret")?.account == "ci")
        await #expect(throws: AuthError.self) { _ = try await users.authenticate(user: "ci", password: "wrong") }
        #expect(try await users.authenticate(user: "nobody", password: "x") == nil)
        #expect(try await users.authenticate(user: "", password: "")?.account == "")
    }
}

import HummingbirdBcrypt
import SwiftASN1

enum HummingbirdBcryptHash {
    static func make(_ password: String) -> String { Bcrypt.hash(password, cost: 4) }
}

@Suite struct FailedLoginTests {
    func service(_ limits: FailedLoginLimiter.Limits) async throws -> TokenService {
        let users = StaticUsers(["ci": .init(password: Bcrypt.hash("pw", cost: 4)), "alice": .init(password: Bcrypt.hash("pw", cost: 4))])
        return TokenService(issuer: try await TokenIssuer(issuer: "t", expiration: 60, signingKey: try SigningKey.generate()),
                            backends: [users], policies: [try ACL([])], limiter: FailedLoginLimiter(limits: limits))
    }

    func attempt(_ service: TokenService, _ user: String, _ password: String, from ip: String) async -> AuthError? {
        do {
            _ = try await service.issueToken(TokenRequest(service: "s", scopes: [], account: nil, credentials: (user, password), clientIP: IPAddress(ip)))
            return nil
        } catch { return error as? AuthError }
    }

    func isThrottled(_ error: AuthError?) -> Bool {
        if case .tooManyRequests(let seconds)? = error { return seconds > 0 && seconds <= 300 }
        return false
    }

    @Test func aStaleClientLocksOnlyItself() async throws {
        let service = try await service(.init(perClient: 3, perAddress: 20, perAccount: 10))
        #expect(await attempt(service, "ci", "pw", from: "10.0.0.1") == nil)
        // Repeating one stale password is not guessing: it never locks.
        for _ in 0..<10 { #expect(await attempt(service, "ci", "stale", from: "10.0.0.1") == .unauthorized("wrong password")) }
        #expect(await attempt(service, "ci", "pw", from: "10.0.0.1") == nil)
        for i in 0..<2 { #expect(await attempt(service, "ci", "guess\(i)", from: "10.0.0.1") == .unauthorized("wrong password")) }
        // Three distinct wrong passwords: that client is refused now, even with the right one...
        #expect(isThrottled(await attempt(service, "ci", "pw", from: "10.0.0.1")))
        // ...but not the account from elsewhere, nor another account from the same address.
        #expect(await attempt(service, "ci", "pw", from: "10.0.0.9") == nil)
        #expect(await attempt(service, "alice", "pw", from: "10.0.0.1") == nil)
    }

    @Test func strangersSlowGuessesButNeverRefuseTheRightPasswordFromACleanAddress() async throws {
        let service = try await service(.init(perClient: 5, perAddress: 50, perAccount: 10))
        for i in 0..<10 { _ = await attempt(service, "ci", "guess\(i)", from: "192.0.2.\(i)") }
        // Under attack: an address that already guessed wrong is refused at once...
        #expect(isThrottled(await attempt(service, "ci", "pw", from: "192.0.2.3")))
        // ...one with a clean record still gets its answer, and the right password works.
        #expect(await attempt(service, "ci", "another guess", from: "192.0.2.200") == .unauthorized("wrong password"))
        #expect(await attempt(service, "ci", "pw", from: "198.51.100.7") == nil)
    }

    @Test func sprayingFromOneAddressIsStopped() async throws {
        let service = try await service(.init(perClient: 3, perAddress: 6, perAccount: 30))
        // Spraying one password over many accounts counts once per account.
        for i in 0..<6 { _ = await attempt(service, "user\(i)", "x", from: "10.0.0.1") }
        #expect(isThrottled(await attempt(service, "someone", "x", from: "10.0.0.1")))
        #expect(await attempt(service, "someone", "x", from: "10.0.0.2") == .unauthorized("invalid credentials"))
    }

    /// A bound from below only: a loaded machine makes it slower, never faster. Before the
    /// dummy check an unknown name answered in about a millisecond, a bcrypt of cost 10 takes
    /// tens of them.
    @Test func unknownNamesCostABcryptLikeWrongPasswords() async throws {
        let service = try await service(.init(perClient: 100, perAddress: 100, perAccount: 100))
        _ = await attempt(service, "warm-up", "x", from: "10.0.0.1")
        for i in 0..<3 {
            let started = ContinuousClock.now
            #expect(await attempt(service, "nobody\(i)", "x", from: "10.0.0.1") == .unauthorized("invalid credentials"))
            #expect(ContinuousClock.now - started >= .milliseconds(15))
        }
    }

    @Test func ipv6CountsPerSlash64() {
        let limiter = FailedLoginLimiter(limits: .init(perClient: 2, perAddress: 100, perAccount: 100))
        limiter.recordFailure(account: "ci", address: IPAddress("2001:db8::1"))
        limiter.recordFailure(account: "ci", address: IPAddress("2001:db8::ffff:2"))
        #expect(limiter.isBlocked(account: "ci", address: IPAddress("2001:db8::77")))
        #expect(!limiter.isBlocked(account: "ci", address: IPAddress("2001:db8:0:1::1")))
    }

    @Test func aFloodOfJunkLoginsBuysNoAmnesty() {
        let limiter = FailedLoginLimiter(limits: .init(perClient: 5, perAddress: 1000, perAccount: 10, capacity: 3000))
        // ci is under attack and one client of it is locked.
        for i in 0..<10 { limiter.recordFailure(account: "ci", address: IPAddress("203.0.113.\(i)")) }
        for _ in 0..<5 { limiter.recordFailure(account: "ci", address: IPAddress("198.51.100.1")) }
        #expect(limiter.isBlocked(account: "ci", address: IPAddress("203.0.113.4")))
        #expect(limiter.isBlocked(account: "ci", address: IPAddress("198.51.100.1")))
        // Then 20,000 junk failures from as many addresses, for as many accounts.
        for i in 0..<20_000 {
            limiter.recordFailure(account: "junk\(i)", address: IPAddress("10.\(i / 65536).\(i / 256 % 256).\(i % 256)"))
        }
        #expect(limiter.count <= 3000)
        #expect(limiter.evicted > 0)
        #expect(limiter.isBlocked(account: "ci", address: IPAddress("203.0.113.4")))
        #expect(limiter.isBlocked(account: "ci", address: IPAddress("198.51.100.1")))
        #expect(!limiter.isBlocked(account: "ci", address: IPAddress("192.0.2.1")))
    }

    @Test func anUnlockDiscardsEarlierFailures() {
        let unlocked = Mutex<Date?>(nil)
        let limiter = FailedLoginLimiter(limits: .init(perClient: 2, perAddress: 100, perAccount: 100),
                                         unlockedSince: { account in account == "ci" ? unlocked.withLock { $0 } : nil })
        let earlier = Date(timeIntervalSinceNow: -10)
        for _ in 0..<2 { limiter.recordFailure(account: "ci", address: IPAddress("10.0.0.1"), now: earlier) }
        #expect(limiter.isBlocked(account: "ci", address: IPAddress("10.0.0.1")))
        unlocked.withLock { $0 = Date(timeIntervalSinceNow: -5) }
        #expect(!limiter.isBlocked(account: "ci", address: IPAddress("10.0.0.1")))
    }
}

@Suite struct JWKSTests {
    @Test func keysFromAJWKSAreTrustedByKid() async throws {
        let key = P256.Signing.PrivateKey()
        let raw = Array(key.publicKey.x963Representation.dropFirst())
        let jwks = #"{"keys":[{"kty":"EC","crv":"P-256","kid":"jwks-key-1","x":"\#(KeyID.b64(Array(raw[0..<32])))","y":"\#(KeyID.b64(Array(raw[32...])))"}]}"#
        let verifier = try await TokenVerifier(issuer: "Berth", service: "registry", roots: [], jwksJSON: jwks)
        let t = TokenTests()
        let sign: (Data) throws -> Data = { try key.signature(for: $0).rawRepresentation }
        let good = try t.forge(header: ["alg": "ES256", "kid": "jwks-key-1"], claims: t.claims(), sign: sign)
        #expect(try await verifier.verify(good).sub == "mallory")
        let wrongAlg = try t.forge(header: ["alg": "RS256", "kid": "jwks-key-1"], claims: t.claims(), sign: sign)
        await #expect(throws: TokenVerifier.Failure.self) { _ = try await verifier.verify(wrongAlg) }
        let unknownKid = try t.forge(header: ["alg": "ES256", "kid": "other"], claims: t.claims(), sign: sign)
        await #expect(throws: TokenVerifier.Failure.self) { _ = try await verifier.verify(unknownKid) }
        // With no certificates configured, an x5c chain is never trusted.
        let chained = try await TokenIssuer(issuer: "Berth", expiration: 60, signingKey: try SigningKey.generate())
            .issue(subject: "x", audience: "registry", access: []).token
        await #expect(throws: TokenVerifier.Failure.self) { _ = try await verifier.verify(chained) }
        await #expect(throws: (any Error).self) { _ = try await TokenVerifier(issuer: "B", service: "s", roots: [], jwksJSON: "{}") }
    }
}

/// A backend that cannot answer (a database or LDAP server that is down).
struct UnreachableBackend: IdentityBackend {
    struct Down: Error {}
    func authenticate(user: String, password: String) async throws -> Identity? { throw Down() }
    func lookup(user: String) async throws -> Identity? { throw Down() }
}

@Suite struct BackendOutageTests {
    @Test func anOutageIsUnavailableAndNeverCountedAsAFailedLogin() async throws {
        let service = TokenService(issuer: try await TokenIssuer(issuer: "t", expiration: 60, signingKey: try SigningKey.generate()),
                                   backends: [UnreachableBackend()], policies: [],
                                   limiter: FailedLoginLimiter(limits: .init(perClient: 2, perAddress: 2, perAccount: 2)))
        for _ in 0..<5 {
            do {
                _ = try await service.issueToken(TokenRequest(service: "s", scopes: [], account: nil, credentials: ("ci", "pw"),
                                                              clientIP: IPAddress("10.0.0.1")))
                Issue.record("a token was issued while the backend was down")
            } catch let error as AuthError {
                guard case .unavailable = error else {
                    Issue.record("expected unavailable, got \(error)")
                    return
                }
            }
        }
    }

    @Test func policiesChainWithNoMatchSemantics() async throws {
        let first = try ACL([ACLRule(match: .init(account: "ci"), actions: ["pull"])], source: "first")
        let second = try ACL([ACLRule(match: .init(name: "public/*"), actions: ["pull", "push"]),
                              ACLRule(match: .init(account: "*"), actions: [])], source: "second")
        let chain = PolicyChain([first, second])
        func decide(_ account: String, _ name: String) async throws -> AccessDecision? {
            try await chain.decide(AccessRequest(account: account, type: "repository", name: name, service: "s", actions: ["pull", "push"]))
        }
        // The first policy matches ci even where the second would grant more: first match wins.
        #expect(try await decide("ci", "public/x") == AccessDecision(actions: ["pull"], policy: "first", rule: 1))
        #expect(try await decide("bob", "public/x") == AccessDecision(actions: ["pull", "push"], policy: "second", rule: 1))
        #expect(try await decide("bob", "team/x") == AccessDecision(actions: [], policy: "second", rule: 2))
        #expect(try await PolicyChain([first]).decide(AccessRequest(account: "bob", type: "repository", name: "x", service: "s", actions: ["pull"])) == nil)
    }
}
