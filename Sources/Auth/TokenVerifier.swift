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
        for root in roots {
            let spki = try SigningKey.spki(root)
            let ids = [KeyID.libtrust(spki: spki), KeyID.thumbprint(root)].compactMap { $0 }
            for id in ids {
                if let ec = P256.Signing.PublicKey(root.publicKey) {
                    await keys.add(ecdsa: try ES256PublicKey(backing: ec), kid: JWKIdentifier(string: id))
                    families[id] = "EC"
                } else if let rsa = _RSA.Signing.PublicKey(root.publicKey) {
                    await keys.add(rsa: try Insecure.RSA.PublicKey(backing: rsa), digestAlgorithm: .sha256, kid: JWKIdentifier(string: id))
                    families[id] = "RSA"
                }
            }
        }
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
        struct EmbeddedKey: Decodable { var kid: String?; var x5c: [String]? }
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
}
