import Crypto
import Foundation

/// AWS credentials for request signing. The secret never appears in a description.
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public var accessKey: String
    public var secretKey: String
    public var sessionToken: String?

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
    }

    public var description: String { "AWSCredentials(\(accessKey), secret hidden)" }
}

/// AWS Signature Version 4 (header and query-string/presigned forms), as specified in
/// "Signing AWS API requests" and checked against AWS's published test vectors.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// `20150830T123600Z`, and its first 8 characters as the scope's date.
    public static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters (and `/` when
    /// `keepSlash`), as SigV4's canonical URI and query require.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "%")))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0xF)]))
            }
        }
        return out
    }

    /// Query parameters, raw (unencoded), in their canonical form: encoded, sorted by name
    /// then value.
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { pair in
            (uriEncode(pair.0, keepSlash: false), uriEncode(pair.1, keepSlash: false))
        }
        let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    struct Signed {
        var signedHeaders: String
        var signature: String
        var scope: String
    }

    /// The signature of a request whose `headers` already hold every header to sign
    /// (`host`, `x-amz-date`, …). `path` is the canonical (already encoded) URI.
    func sign(method: String, path: String, query: String, headers: [(String, String)],
              payloadHash: String, timestamp: String) -> Signed {
        var byName: [String: [String]] = [:]
        for (name, value) in headers {
            let trimmed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            byName[name.lowercased(), default: []].append(trimmed)
        }
        let names = byName.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [method, path, query, canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        let day = String(timestamp.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", timestamp, scope, Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))]
            .joined(separator: "\n")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(day: day)))
        return Signed(signedHeaders: signedHeaders, signature: signature, scope: scope)
    }

    func signingKey(day: String) -> SymmetricKey {
        func step(_ key: SymmetricKey, _ data: String) -> SymmetricKey {
            SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(data.utf8), using: key))
        }
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretKey)".utf8))
        for part in [day, region, service, "aws4_request"] { key = step(key, part) }
        return key
    }

    /// The headers to send with a request: `headers` plus `x-amz-date`,
    /// `x-amz-content-sha256`, the session token and `Authorization`. `host` must be among
    /// `headers`.
    public func signedHeaders(method: String, path: String, query: [(String, String)], headers: [(String, String)],
                              payloadHash: String, date: Date = Date()) -> [(String, String)] {
        let stamp = Self.timestamp(date)
        var all = headers
        all.append(("x-amz-date", stamp))
        all.append(("x-amz-content-sha256", payloadHash))
        if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }
        let signed = sign(method: method, path: path, query: Self.canonicalQuery(query), headers: all,
                          payloadHash: payloadHash, timestamp: stamp)
        all.append(("Authorization", authorization(signed)))
        return all
    }

    func authorization(_ signed: Signed) -> String {
        "AWS4-HMAC-SHA256 Credential=\(credentials.accessKey)/\(signed.scope), SignedHeaders=\(signed.signedHeaders), Signature=\(signed.signature)"
    }

    /// A presigned URL's query string (everything after `?`), valid for `expires` seconds,
    /// signing only `host`.
    public func presignedQuery(method: String, host: String, path: String, query: [(String, String)] = [],
                               expires: Int, date: Date = Date()) -> String {
        let stamp = Self.timestamp(date)
        let scope = "\(stamp.prefix(8))/\(region)/\(service)/aws4_request"
        var parameters = query
        parameters.append(("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        parameters.append(("X-Amz-Credential", "\(credentials.accessKey)/\(scope)"))
        parameters.append(("X-Amz-Date", stamp))
        parameters.append(("X-Amz-Expires", String(expires)))
        if let token = credentials.sessionToken { parameters.append(("X-Amz-Security-Token", token)) }
        parameters.append(("X-Amz-SignedHeaders", "host"))
        let canonical = Self.canonicalQuery(parameters)
        let signed = sign(method: method, path: path, query: canonical, headers: [("host", host)],
                          payloadHash: Self.unsignedPayload, timestamp: stamp)
        return canonical + "&X-Amz-Signature=" + signed.signature
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func payloadHash<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        hex(SHA256.hash(data: Array(bytes)))
    }
}
