import Crypto
import Foundation
import JWTKit
import X509
import _CryptoExtras

/// Signs registry tokens: RS256 or ES256, with both `x5c` (the certificate chain, for
/// registries verifying against a root bundle) and a libtrust `kid` (for Distribution 2.8
/// setups that look keys up by id).
public struct TokenIssuer: Sendable {
    public let issuer: String
    public let expiration: Int
    let signingKey: SigningKey
    let keys: JWTKeyCollection
    let kid: String
    let x5cPEM: [String]

    public init(issuer: String, expiration: Int, signingKey: SigningKey) async throws {
        self.issuer = issuer
        self.expiration = expiration
        self.signingKey = signingKey
        kid = signingKey.libtrustKeyID
        let keys = JWTKeyCollection()
        switch signingKey.key {
        case .rsa(let key):
            await keys.add(rsa: try Insecure.RSA.PrivateKey(backing: key), digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        case .ecdsaP256(let key):
            await keys.add(ecdsa: try ES256PrivateKey(backing: key), kid: JWKIdentifier(string: kid))
        }
        self.keys = keys
        x5cPEM = try signingKey.certificates.map { try $0.serializeAsPEM().pemString }
    }

    public func issue(subject: String, audience: String, access: [ResourceScope], now: Date = Date()) async throws -> (token: String, expiresIn: Int, issuedAt: Date) {
        let t = Int64(now.timeIntervalSince1970)
        var random = SystemRandomNumberGenerator()
        let claims = TokenClaims(iss: issuer, sub: subject, aud: audience, exp: t + Int64(expiration), nbf: t - 10, iat: t,
                                 jti: String(random.next() >> 1), access: access)
        var header = JWTHeader()
        header.x5c = x5cPEM
        header.typ = "JWT"
        let token = try await keys.sign(claims, kid: JWKIdentifier(string: kid), header: header)
        return (token, expiration, now)
    }
}
