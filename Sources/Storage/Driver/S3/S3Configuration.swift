import Foundation

/// Distribution's `storage.s3` settings, with its defaults and limits.
public struct S3Configuration: Sendable {
    public var bucket: String
    public var region: String
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); AWS's own when nil.
    public var regionEndpoint: String?
    public var forcePathStyle = false
    public var rootDirectory = ""
    public var credentials: any AWSCredentialProvider
    public var encrypt = false
    public var keyID: String?
    public var secure = true
    public var skipVerify = false
    public var v4Auth = true
    public var chunkSize = 10 << 20
    public var multipartCopyChunkSize = 32 << 20
    public var multipartCopyMaxConcurrency = 100
    public var multipartCopyThresholdSize = 32 << 20
    public var storageClass: String? = "STANDARD"
    public var objectACL = "private"
    public var logLevel = "off"
    /// How long a presigned blob URL is valid (Distribution: 20 minutes).
    public var redirectExpiry = 20 * 60
    /// Replaces scheme and host of presigned URLs (`redirectendpoint`).
    public var redirectEndpoint: String?
    /// How long an upload's lease may go unrenewed before another replica takes it over
    /// (the holder renews every quarter of it).
    var leaseDuration: TimeInterval = 60

    public static let minimumChunkSize = 5 << 20
    public static let maximumChunkSize = 5 << 30

    public init(bucket: String, region: String, credentials: any AWSCredentialProvider) {
        self.bucket = bucket
        self.region = region
        self.credentials = credentials
    }

    /// Checks the limits Distribution enforces; the message names the key.
    public func validate() throws {
        func fail(_ message: String) -> StorageError { .io("storage.s3: \(message)") }
        guard !bucket.isEmpty else { throw fail("bucket is required") }
        guard regionEndpoint != nil || !region.isEmpty else { throw fail("region is required unless regionendpoint is set") }
        guard (Self.minimumChunkSize...Self.maximumChunkSize).contains(chunkSize) else {
            throw fail("chunksize must be between 5 MiB and 5 GiB, got \(chunkSize)")
        }
        guard (Self.minimumChunkSize...Self.maximumChunkSize).contains(multipartCopyChunkSize) else {
            throw fail("multipartcopychunksize must be between 5 MiB and 5 GiB, got \(multipartCopyChunkSize)")
        }
        guard multipartCopyMaxConcurrency >= 1 else { throw fail("multipartcopymaxconcurrency must be at least 1") }
        guard (0...Self.maximumChunkSize).contains(multipartCopyThresholdSize) else {
            throw fail("multipartcopythresholdsize must be between 0 and 5 GiB")
        }
        guard v4Auth else { throw fail("v4auth: false (Signature Version 2) is not supported; S3 has required V4 since 2020") }
        if keyID != nil, !encrypt { throw fail("keyid needs encrypt: true") }
        if let endpoint = regionEndpoint, URL(string: endpoint)?.host == nil, URL(string: "https://" + endpoint)?.host == nil {
            throw fail("regionendpoint is not a URL: \(endpoint)")
        }
    }

    /// Scheme, host (with port) and the path prefix of the bucket.
    struct Endpoint: Sendable {
        var scheme: String
        var host: String
        var port: Int?
        var bucketPath: String

        var hostHeader: String { port.map { "\(host):\($0)" } ?? host }
        var base: String { "\(scheme)://\(hostHeader)" }
    }

    var endpoint: Endpoint {
        let scheme = secure ? "https" : "http"
        if let regionEndpoint {
            let withScheme = regionEndpoint.contains("://") ? regionEndpoint : "\(scheme)://\(regionEndpoint)"
            let url = URL(string: withScheme)
            let host = url?.host ?? regionEndpoint
            let actualScheme = url?.scheme ?? scheme
            if forcePathStyle {
                return Endpoint(scheme: actualScheme, host: host, port: url?.port, bucketPath: "/" + bucket)
            }
            return Endpoint(scheme: actualScheme, host: "\(bucket).\(host)", port: url?.port, bucketPath: "")
        }
        let host = region == "us-east-1" ? "s3.amazonaws.com" : "s3.\(region).amazonaws.com"
        if forcePathStyle { return Endpoint(scheme: scheme, host: host, port: nil, bucketPath: "/" + bucket) }
        return Endpoint(scheme: scheme, host: "\(bucket).\(host)", port: nil, bucketPath: "")
    }

    /// The signing region: a custom endpoint without a region signs as us-east-1.
    var signingRegion: String { region.isEmpty ? "us-east-1" : region }
}
