import Foundation
import JWTKit

/// The registry token's claims, as Distribution defines them.
public struct TokenClaims: JWTPayload, Equatable {
    public var iss: String
    public var sub: String
    public var aud: Audience
    public var exp: Int64
    public var nbf: Int64
    public var iat: Int64
    public var jti: String
    public var access: [ResourceScope]

    /// `aud` as a string (what Berth emits, and all Distribution 2.8 accepts) or a list.
    public enum Audience: Codable, Sendable, Equatable {
        case one(String)
        case many([String])

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .one(s) } else { self = .many(try c.decode([String].self)) }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .one(let s): try c.encode(s)
            case .many(let l): try c.encode(l)
            }
        }

        public func contains(_ service: String) -> Bool {
            switch self {
            case .one(let s): s == service
            case .many(let l): l.contains(service)
            }
        }
    }

    public init(iss: String, sub: String, aud: String, exp: Int64, nbf: Int64, iat: Int64, jti: String, access: [ResourceScope]) {
        self.iss = iss
        self.sub = sub
        self.aud = .one(aud)
        self.exp = exp
        self.nbf = nbf
        self.iat = iat
        self.jti = jti
        self.access = access
    }

    /// Time and audience checks are done by `TokenVerifier`, with Distribution's leeway.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// Whether the token grants `action` on the resource (`*` grants everything).
    public func grants(type: String, name: String, action: String) -> Bool {
        access.contains { $0.type == type && $0.name == name && ($0.actions.contains(action) || $0.actions.contains("*")) }
    }
}
