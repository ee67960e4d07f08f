import Foundation
import Synchronization

/// The JSON of a token's claims without its times and id, by subject, audience and grant:
/// those are all the tokens one account gets for one scope differ by, so JSONEncoder runs
/// once per such combination instead of for every token (it was a fifth of the token
/// endpoint's CPU, more than the ES256 signature).
final class ClaimsCache: Sendable {
    struct Key: Hashable, Sendable {
        var subject: String
        var audience: String
        var access: [ResourceScope]
    }

    /// The claims that do not change from one token to the next, in Distribution's names.
    private struct StableClaims: Encodable {
        var iss: String
        var sub: String
        var aud: String
        var access: [ResourceScope]
    }

    private let issuer: String
    private let entries = Mutex<[Key: [UInt8]]>([:])
    /// Distinct (account, service, grant) combinations kept; past it the cache starts over,
    /// which bounds memory whatever callers ask for.
    static let capacity = 4096

    init(issuer: String) {
        self.issuer = issuer
    }

    /// The claims JSON: the cached part, then `exp`, `nbf`, `iat` (integers) and `jti`
    /// (decimal digits), which need no escaping.
    func claims(_ key: Key, exp: Int64, nbf: Int64, iat: Int64, jti: UInt64) throws -> [UInt8] {
        var json = try prefix(key)
        json.append(contentsOf: #","exp":\#(exp),"nbf":\#(nbf),"iat":\#(iat),"jti":"\#(jti)"}"#.utf8)
        return json
    }

    var count: Int { entries.withLock { $0.count } }

    /// `{"iss":…,"sub":…,"aud":…,"access":[…]` without its closing brace.
    private func prefix(_ key: Key) throws -> [UInt8] {
        if let cached = entries.withLock({ $0[key] }) { return cached }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var json = [UInt8](try encoder.encode(StableClaims(iss: issuer, sub: key.subject, aud: key.audience, access: key.access)))
        json.removeLast() // "}"
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = json
        }
        return json
    }
}
