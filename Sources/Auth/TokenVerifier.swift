import Crypto
import Foundation
import JWTKit
import SwiftASN1
import X509
import _CryptoExtras

/// Verifies registry tokens as Distribution does: the key comes from an `x5c` chain that
/// verifies against the trusted roots, or from `kid` (libtrust id or RFC 7638 thumbprint
/// of a trusted root); `iss` must be the issuer, `aud` must name the service, and
/// `exp`/`nbf` hold within 60 s of leeway. The algorithm is pinned to the key's type:
/// `none` and HMAC are never accepted.
public struct TokenVerifier: Sendable {
    public typealias Root = Certificate
    public let issuer: String
    public let service: String
    let roots: [Certificate]
    let keysByID: JWTKeyCollection
    let familyByID: [String: String]
    /// Trusted root keys by libtrust id, for tokens that carry only an embedded `jwk`.
    let rootKeysByLibtrustID: [String: TrustedKey]

    enum TrustedKey: Sendable {
        case ec(ES256PublicKey)
        case rsa(JWTKit.Insecure.RSA.PublicKey)

        var family: String {
            switch self {
            case .ec: "EC"
            case .rsa: "RSA"
            }
        }
    }
    static let leeway: Int64 = 60
    static let allowedAlgorithms = ["RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "ES256": "EC", "ES384": "EC", "ES512": "EC"]

    public init(issuer: String, service: String, roots: [Certificate], jwksJSON: String? = nil) async throws {
        guard !roots.isEmpty || jwksJSON != nil else {
            throw AuthError.configuration("token verification needs at least one trusted certificate or JWKS key")
        }
        self.issuer = issuer
        self.service = service
        self.roots = roots
        let keys = JWTKeyCollection()
        var families: [String: String] = [:]
        var byLibtrustID: [String: TrustedKey] = [:]
        for root in roots {
            let spki = try SigningKey.spki(root)
            let libtrustID = KeyID.libtrust(spki: spki)
            let ids = [libtrustID, KeyID.thumbprint(root)].compactMap { $0 }
            for id in ids {
                if let ec = P256.Signing.PublicKey(root.publicKey) {
                    await keys.add(ecdsa: try ES256PublicKey(backing: ec), kid: JWKIdentifier(string: id))
                    families[id] = "EC"
                    byLibtrustID[libtrustID] = .ec(try ES256PublicKey(backing: ec))
                } else if let rsa = _RSA.Signing.PublicKey(root.publicKey) {
                    await keys.add(rsa: try Insecure.RSA.PublicKey(backing: rsa), digestAlgorithm: .sha256, kid: JWKIdentifier(string: id))
                    families[id] = "RSA"
                    byLibtrustID[libtrustID] = .rsa(try JWTKit.Insecure.RSA.PublicKey(backing: rsa))
                }
            }
        }
        rootKeysByLibtrustID = byLibtrustID
        if let jwksJSON {
            // Distribution 3's `jwks`: keys trusted by their `kid`.
            struct Set: Decodable { struct Key: Decodable { var kid: String?; var kty: String? }; var keys: [Key] }
            guard let parsed = try? JSONDecoder().decode(Set.self, from: Data(jwksJSON.utf8)) else {
                throw AuthError.configuration("jwks: not a JSON Web Key Set")
            }
            try await keys.add(jwksJSON: jwksJSON)
            for key in parsed.keys {
                guard let kid = key.kid else { throw AuthError.configuration("jwks: every key needs a kid") }
                switch key.kty {
                case "RSA": families[kid] = "RSA"
                case "EC": families[kid] = "EC"
                default: throw AuthError.configuration("jwks: key \(kid) is neither RSA nor EC")
                }
            }
        }
        keysByID = keys
        familyByID = families
    }

    public static func loadRoots(pem: String) throws -> [Certificate] {
        try PEMDocument.parseMultiple(pemString: pem).map { try Certificate(pemDocument: $0) }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case invalid(String)
        public var description: String { if case .invalid(let m) = self { m } else { "" } }
    }

    private struct Header: Decodable {
        struct EmbeddedKey: Decodable {
            var kid: String?
            var x5c: [String]?
            var kty: String?
            var crv: String?
            var x: String?
            var y: String?
            var n: String?
            var e: String?
        }
        var alg: String?
        var kid: String?
        var x5c: [String]?
        var jwk: EmbeddedKey?
    }

    public func verify(_ token: String, now: Date = Date()) async throws(Failure) -> TokenClaims {
        guard token.utf8.count <= 16 * 1024 else { throw .invalid("token too large") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Self.base64URL(parts[0]),
              let header = try? JSONDecoder().decode(Header.self, from: headerBytes) else {
            throw .invalid("malformed token")
        }
        guard let alg = header.alg, let family = Self.allowedAlgorithms[alg] else {
            throw .invalid("unsupported signing algorithm \(header.alg ?? "none")")
        }
        let claims: TokenClaims
        do {
            // As Distribution: an x5c chain first, then an embedded jwk (only by a trusted
            // key id; its own key material is never trusted), then kid.
            let kid = header.jwk?.kid ?? header.kid
            if let x5c = header.x5c ?? header.jwk?.x5c, !x5c.isEmpty {
                guard !roots.isEmpty else { throw Failure.invalid("no trusted certificates for an x5c chain") }
                claims = try await X5CVerifier(rootCertificates: roots).verifyJWS(token, as: TokenClaims.self)
            } else if let kid, let keyFamily = familyByID[kid] {
                guard keyFamily == family else { throw Failure.invalid("algorithm \(alg) does not fit the key") }
                claims = try await keysByID.verify(token, as: TokenClaims.self)
            } else if let jwk = header.jwk, let id = Self.libtrustID(of: jwk), let trusted = rootKeysByLibtrustID[id] {
                // Distribution 2.8 accepts an embedded key whose libtrust id is trusted; the
                // signature is checked with the trusted key, never the embedded one.
                guard trusted.family == family else { throw Failure.invalid("algorithm \(alg) does not fit the key") }
                let single = JWTKeyCollection()
                switch trusted {
                case .ec(let key): await single.add(ecdsa: key)
                case .rsa(let key): await single.add(rsa: key, digestAlgorithm: Self.rsaDigest(alg))
                }
                claims = try await single.verify(token, as: TokenClaims.self)
            } else {
                throw Failure.invalid("token signed by an untrusted key")
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .invalid("signature verification failed")
        }
        let t = Int64(now.timeIntervalSince1970)
        guard claims.iss == issuer else { throw .invalid("token issued by an untrusted issuer") }
        guard claims.aud.contains(service) else { throw .invalid("token not meant for this service") }
        guard t <= claims.exp + Self.leeway else { throw .invalid("token expired") }
        guard t >= claims.nbf - Self.leeway else { throw .invalid("token not yet valid") }
        return claims
    }

    static func base64URL(_ s: Substring) -> Data? { Base64URL.decode(s) }

    static func rsaDigest(_ alg: String) -> DigestAlgorithm {
        switch alg {
        case "RS384": .sha384
        case "RS512": .sha512
        default: .sha256
        }
    }

    /// The libtrust key id of an embedded JWK (EC P-256 or RSA), from its key material.
    private static func libtrustID(of jwk: Header.EmbeddedKey) -> String? {
        switch jwk.kty {
        case "EC":
            guard jwk.crv == "P-256", let x = jwk.x.flatMap({ Base64URL.decode(Substring($0)) }),
                  let y = jwk.y.flatMap({ Base64URL.decode(Substring($0)) }), x.count == 32, y.count == 32,
                  let key = try? P256.Signing.PublicKey(rawRepresentation: x + y) else { return nil }
            return KeyID.libtrust(spki: Array(key.derRepresentation))
        case "RSA":
            guard let n = jwk.n.flatMap({ Base64URL.decode(Substring($0)) }), let e = jwk.e.flatMap({ Base64URL.decode(Substring($0)) }),
                  let key = try? _RSA.Signing.PublicKey(n: n, e: e) else { return nil }
            return KeyID.libtrust(spki: Array(key.derRepresentation))
        default:
            return nil
        }
    }
}
