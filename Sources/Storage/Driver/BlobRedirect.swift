import Crypto
import _CryptoExtras
import Foundation

/// Where a client fetches a blob's bytes instead of through the registry: the driver's own
/// presigned URL (S3), or a CDN in front of the storage, as Distribution's storage middlewares
/// `redirect` and `cloudfront` (configured exactly as there: `middleware.storage`).
public protocol BlobRedirect: Sendable {
    /// A URL for `path` (a blob's data), or nil to serve it here.
    func redirectURL(_ path: StoragePath, method: String, driver: any StorageDriver) async throws -> String?
}

/// The driver's own: a presigned S3 URL, none on a filesystem.
public struct DriverRedirect: BlobRedirect {
    public init() {}
    public func redirectURL(_ path: StoragePath, method: String, driver: any StorageDriver) async throws -> String? {
        try await driver.redirectURL(path, method: method)
    }
}

/// Distribution's `redirect` middleware: `baseurl` + the blob's storage path, unsigned (a CDN
/// or web server that serves the storage directory, or a public bucket).
public struct BaseURLRedirect: BlobRedirect {
    public let baseURL: String

    public init(baseURL: String) throws {
        guard let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw StorageError.io("middleware redirect: baseurl \(baseURL.prefix(128)) is not an http(s) URL")
        }
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    public func redirectURL(_ path: StoragePath, method: String, driver: any StorageDriver) async throws -> String? {
        guard method == "GET" || method == "HEAD" else { return nil }
        return baseURL + "/" + path.description
    }
}

/// Distribution's `cloudfront` middleware: a CloudFront signed URL for `baseurl` + the blob's
/// path, with a canned policy (the URL and an expiry `duration` from now), signed RSA-SHA1
/// with the key pair's private key, as CloudFront requires (`Expires`, `Signature`,
/// `Key-Pair-Id`).
public struct CloudFrontRedirect: BlobRedirect {
    public let baseURL: String
    public let keyPairID: String
    let privateKey: _RSA.Signing.PrivateKey
    public let duration: TimeInterval
    let clock: @Sendable () -> Date

    public init(baseURL: String, privateKeyPEM: String, keyPairID: String, duration: TimeInterval = 1200,
                clock: @escaping @Sendable () -> Date = Date.init) throws {
        guard let url = URL(string: baseURL), url.scheme == "https" || url.scheme == "http", url.host != nil else {
            throw StorageError.io("middleware cloudfront: baseurl \(baseURL.prefix(128)) is not an http(s) URL")
        }
        guard !keyPairID.isEmpty else { throw StorageError.io("middleware cloudfront: keypairid is required") }
        do {
            // CloudFront key pairs are RSA 2048 (older ones 1024, which swift-crypto refuses to sign with).
            privateKey = try _RSA.Signing.PrivateKey(unsafePEMRepresentation: privateKeyPEM)
        } catch {
            throw StorageError.io("middleware cloudfront: privatekey is not an RSA private key in PEM: \(error)")
        }
        guard duration > 0 else { throw StorageError.io("middleware cloudfront: duration must be positive") }
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.keyPairID = keyPairID
        self.duration = duration
        self.clock = clock
    }

    public func redirectURL(_ path: StoragePath, method: String, driver: any StorageDriver) async throws -> String? {
        guard method == "GET" || method == "HEAD" else { return nil }
        return try signedURL(baseURL + "/" + path.description, expires: Int64(clock().addingTimeInterval(duration).timeIntervalSince1970))
    }

    /// CloudFront's canned policy, exactly as it rebuilds it to check the signature.
    public static func cannedPolicy(_ resource: String, expires: Int64) -> String {
        #"{"Statement":[{"Resource":"\#(resource)","Condition":{"DateLessThan":{"AWS:EpochTime":\#(expires)}}}]}"#
    }

    public func signedURL(_ resource: String, expires: Int64) throws -> String {
        let policy = Self.cannedPolicy(resource, expires: expires)
        let signature = try privateKey.signature(for: Insecure.SHA1.hash(data: Array(policy.utf8)), padding: .insecurePKCS1v1_5)
        // CloudFront's URL-safe base64: + → -, = → _, / → ~.
        let encoded = signature.rawRepresentation.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "=", with: "_").replacingOccurrences(of: "/", with: "~")
        return resource + (resource.contains("?") ? "&" : "?") + "Expires=\(expires)&Signature=\(encoded)&Key-Pair-Id=\(keyPairID)"
    }
}
