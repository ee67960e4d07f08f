import Foundation
@testable import Storage
import Testing

/// AWS's published Signature V4 examples: the signature test suite's `get-vanilla` cases
/// and the S3 API reference's header-based and presigned-URL examples.
@Suite struct SigV4Tests {
    let suite = SigV4Signer(credentials: AWSCredentials(accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                            region: "us-east-1", service: "service")
    let s3 = SigV4Signer(credentials: AWSCredentials(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                         region: "us-east-1")
    let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)   // 20150830T123600Z
    let s3Date = Date(timeIntervalSince1970: 1_369_353_600)      // 20130524T000000Z

    func signature(_ headers: [(String, String)]) -> String? {
        headers.first { $0.0 == "Authorization" }?.1.components(separatedBy: "Signature=").last
    }

    @Test func timestamps() {
        #expect(SigV4Signer.timestamp(suiteDate) == "20150830T123600Z")
        #expect(SigV4Signer.timestamp(s3Date) == "20130524T000000Z")
    }

    @Test func getVanilla() {
        let signed = suite.sign(method: "GET", path: "/", query: "",
                                headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
                                payloadHash: SigV4Signer.emptyPayloadHash, timestamp: "20150830T123600Z")
        #expect(suite.authorization(signed) == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func getVanillaQueryOrderKeyCase() {
        let query = SigV4Signer.canonicalQuery([("Param2", "value2"), ("Param1", "value1")])
        #expect(query == "Param1=value1&Param2=value2")
        let signed = suite.sign(method: "GET", path: "/", query: query,
                                headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
                                payloadHash: SigV4Signer.emptyPayloadHash, timestamp: "20150830T123600Z")
        #expect(signed.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func s3GetObjectWithRange() {
        let headers = s3.signedHeaders(method: "GET", path: "/test.txt", query: [],
                                       headers: [("host", "examplebucket.s3.amazonaws.com"), ("range", "bytes=0-9")],
                                       payloadHash: SigV4Signer.emptyPayloadHash, date: s3Date)
        #expect(signature(headers) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(headers.contains { $0 == ("x-amz-date", "20130524T000000Z") })
    }

    @Test func s3PutObjectWithEncodedKey() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let hash = SigV4Signer.payloadHash(body)
        #expect(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let path = "/" + SigV4Signer.uriEncode("test$file.text", keepSlash: true)
        #expect(path == "/test%24file.text")
        let headers = s3.signedHeaders(method: "PUT", path: path, query: [],
                                       headers: [("host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                                                 ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                                       payloadHash: hash, date: s3Date)
        #expect(signature(headers) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func s3ListObjectsWithQuery() {
        let headers = s3.signedHeaders(method: "GET", path: "/", query: [("max-keys", "2"), ("prefix", "J")],
                                       headers: [("host", "examplebucket.s3.amazonaws.com")],
                                       payloadHash: SigV4Signer.emptyPayloadHash, date: s3Date)
        #expect(signature(headers) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func s3PresignedGet() {
        let query = s3.presignedQuery(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt",
                                      expires: 86400, date: s3Date)
        #expect(query == "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func encodingKeepsOnlyUnreservedCharacters() {
        #expect(SigV4Signer.uriEncode("a b+c/d~e", keepSlash: true) == "a%20b%2Bc/d~e")
        #expect(SigV4Signer.uriEncode("a/b=c&d", keepSlash: false) == "a%2Fb%3Dc%26d")
        #expect(SigV4Signer.uriEncode("ключ", keepSlash: false) == "%D0%BA%D0%BB%D1%8E%D1%87")
        #expect("\(AWSCredentials(accessKey: "AK", secretKey: "very-secret"))".contains("very-secret") == false)
    }
}
