import Crypto
import _CryptoExtras
import Foundation
import Storage
import Testing

/// CloudFront's signed URLs (canned policy, RSA-SHA1, its URL-safe base64) and the plain
/// `redirect` middleware's URLs.
@Suite struct BlobRedirectTests {
    @Test func cloudfrontSignsTheCannedPolicy() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let fixed = Date(timeIntervalSince1970: 1_800_000_000)
        let redirect = try CloudFrontRedirect(baseURL: "https://d111111abcdef8.cloudfront.net/", privateKeyPEM: key.pemRepresentation,
                                              keyPairID: "K2JCJMDEHXQW5F", duration: 1200, clock: { fixed })
        let path = try StoragePath(["docker", "registry", "v2", "blobs", "sha256", "ab", "abcd", "data"])
        let url = try #require(try await redirect.redirectURL(path, method: "GET", driver: InMemoryDriver()))
        let resource = "https://d111111abcdef8.cloudfront.net/docker/registry/v2/blobs/sha256/ab/abcd/data"
        #expect(url.hasPrefix(resource + "?Expires=1800001200&Signature="))
        #expect(url.hasSuffix("&Key-Pair-Id=K2JCJMDEHXQW5F"))
        let encoded = String(url.split(separator: "Signature=")[1].split(separator: "&")[0])
        #expect(!encoded.contains("+") && !encoded.contains("/") && !encoded.contains("="))
        let signature = try #require(Data(base64Encoded: encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "=")
            .replacingOccurrences(of: "~", with: "/")))
        let policy = CloudFrontRedirect.cannedPolicy(resource, expires: 1_800_001_200)
        #expect(policy == #"{"Statement":[{"Resource":"https://d111111abcdef8.cloudfront.net/docker/registry/v2/blobs/sha256/ab/abcd/data","Condition":{"DateLessThan":{"AWS:EpochTime":1800001200}}}]}"#)
        #expect(key.publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature),
                                               for: Insecure.SHA1.hash(data: Array(policy.utf8)), padding: .insecurePKCS1v1_5))
        #expect(try await redirect.redirectURL(path, method: "PUT", driver: InMemoryDriver()) == nil)
        #expect(throws: (any Error).self) { try CloudFrontRedirect(baseURL: "https://x/", privateKeyPEM: "not a key", keyPairID: "K") }
    }

    @Test func redirectIsTheBaseURLAndThePath() async throws {
        let redirect = try BaseURLRedirect(baseURL: "https://cdn.example.com/registry/")
        let path = try StoragePath(["docker", "registry", "v2", "blobs", "sha256", "ab", "abcd", "data"])
        #expect(try await redirect.redirectURL(path, method: "GET", driver: InMemoryDriver())
                == "https://cdn.example.com/registry/docker/registry/v2/blobs/sha256/ab/abcd/data")
        #expect(throws: (any Error).self) { try BaseURLRedirect(baseURL: "ftp://x") }
    }
}
