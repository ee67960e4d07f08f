import Crypto
import Foundation
import JWTKit
import SwiftASN1
import X509
import _CryptoExtras

/// Signs registry tokens: RS256 or ES256, with both `x5c` (the certificate chain, for
/// registries verifying against a root bundle) and a libtrust `kid` (for Distribution 2.8
/// setups that look keys up by id).
///
/// The JOSE header is the same for every token, so it is encoded once here; jwt-kit's own
/// `sign` re-parses the `x5c` certificates and re-encodes the header on every call, which
/// cost a quarter of the token endpoint's CPU. jwt-kit's signer makes ES256 signatures;
/// RS256 ones come from OpenSSL (`OpenSSLRS256`), whose RSA is faster than BoringSSL's.
public struct TokenIssuer: Sendable {
    public let issuer: String
    public let expiration: Int
    let signingKey: SigningKey
    let algorithm: any TokenSigner
    /// base64url of the header JSON, and the "." after it.
    let headerSegment: String
    let claimsCache: ClaimsCache

    struct Header: Encodable {
        var alg: String
        var typ = "JWT"
        var kid: String
        var x5c: [String]
    }

    public init(issuer: String, expiration: Int, signingKey: SigningKey) async throws {
        self.issuer = issuer
        self.expiration = expiration
        self.signingKey = signingKey
        claimsCache = ClaimsCache(issuer: issuer)
        let kid = signingKey.libtrustKeyID
        switch signingKey.key {
        case .rsa(let key):
            algorithm = try OpenSSLRS256(privateKeyPEM: key.pemRepresentation)
        case .ecdsaP256(let key):
            let keys = JWTKeyCollection()
            await keys.add(ecdsa: try ES256PrivateKey(backing: key), kid: JWKIdentifier(string: kid))
            algorithm = JWTKitSigner(algorithm: try await keys.getKey(for: JWKIdentifier(string: kid)))
        }
        // x5c holds standard base64 of each certificate's DER (RFC 7515 §4.1.6).
        let x5c = try signingKey.certificates.map { certificate in
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return Data(serializer.serializedBytes).base64EncodedString()
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        headerSegment = Base64URL.encode(try encoder.encode(Header(alg: algorithm.name, kid: kid, x5c: x5c))) + "."
    }

    public func issue(subject: String, audience: String, access: [ResourceScope], now: Date = Date()) async throws -> (token: String, expiresIn: Int, issuedAt: Date) {
        let t = Int64(now.timeIntervalSince1970)
        var random = SystemRandomNumberGenerator()
        let claims = try claimsCache.claims(ClaimsCache.Key(subject: subject, audience: audience, access: access),
                                            exp: t + Int64(expiration), nbf: t - 10, iat: t, jti: random.next() >> 1)
        let signingInput = headerSegment + Base64URL.encode(claims)
        let signature = try algorithm.sign(Array(signingInput.utf8))
        return (signingInput + "." + Base64URL.encode(signature), expiration, now)
    }
}
