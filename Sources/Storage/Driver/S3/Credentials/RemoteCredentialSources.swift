import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The sources of temporary credentials that are asked over HTTP: an EC2 instance's role
/// (IMDSv2, then v1), a container's task role (ECS, EKS Pod Identity), and a web identity
/// exchanged at STS (EKS IAM roles for service accounts), as the AWS SDKs ask them.
enum RemoteCredentialSources {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func request(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: String? = nil,
                        timeout: TimeAmount = .seconds(5)) async throws -> (status: UInt, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, String(buffer: body))
        } catch {
            throw Failure(description: "\(url) did not answer (\(error))")
        }
    }

    /// The JSON both the instance metadata service and the container endpoint answer.
    struct CredentialDocument: Decodable {
        var AccessKeyId: String
        var SecretAccessKey: String
        var Token: String?
        var Expiration: String?
    }

    static func decode(_ body: String, from source: String) throws -> ExpiringCredentials {
        guard let document = try? JSONDecoder().decode(CredentialDocument.self, from: Data(body.utf8)) else {
            throw Failure(description: "\(source) answered something that is not a credentials document")
        }
        return ExpiringCredentials(AWSCredentials(accessKey: document.AccessKeyId, secretKey: document.SecretAccessKey,
                                                  sessionToken: document.Token),
                                   expiration: try document.Expiration.map { try date($0, from: source) })
    }

    static func date(_ text: String, from source: String) throws -> Date {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        throw Failure(description: "\(source) gave an expiration that is not a date: \(text.prefix(40))")
    }

    // MARK: EC2 instance metadata

    static func instanceMetadata(endpoint: String) -> RefreshingCredentialProvider {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        return RefreshingCredentialProvider("the instance metadata service (\(base))") {
            var headers: [(String, String)] = []
            // IMDSv2's session token; an instance that allows only v1 refuses the PUT.
            let token: (status: UInt, body: String)
            do {
                token = try await request(.PUT, base + "/latest/api/token",
                                          headers: [("x-aws-ec2-metadata-token-ttl-seconds", "21600")], timeout: .seconds(2))
            } catch {
                throw Failure(description: "\(error); no accesskey and secretkey, AWS_ACCESS_KEY_ID, shared credentials file, "
                                           + "web identity or container endpoint was found before it")
            }
            if token.status == 200 {
                headers = [("x-aws-ec2-metadata-token", token.body)]
            } else if ![403, 404, 405].contains(token.status) {
                throw Failure(description: "the instance metadata service answered \(token.status) to the token request")
            }
            let roles = try await request(.GET, base + "/latest/meta-data/iam/security-credentials/", headers: headers, timeout: .seconds(2))
            guard roles.status == 200, let role = roles.body.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
                throw Failure(description: "this instance has no IAM role (instance metadata answered \(roles.status))")
            }
            let document = try await request(.GET, base + "/latest/meta-data/iam/security-credentials/" + role, headers: headers, timeout: .seconds(2))
            guard document.status == 200 else {
                throw Failure(description: "the instance metadata service answered \(document.status) for role \(role)")
            }
            return try decode(document.body, from: "the instance metadata service")
        }
    }

    // MARK: Container credentials

    static func container(url: String, authorization: @escaping @Sendable () throws -> String?) -> RefreshingCredentialProvider {
        RefreshingCredentialProvider("the container credentials endpoint (\(url))") {
            var headers: [(String, String)] = []
            if let token = try authorization() { headers.append(("authorization", token)) }
            let response = try await request(.GET, url, headers: headers)
            guard response.status == 200 else {
                throw Failure(description: "the container credentials endpoint answered \(response.status)")
            }
            return try decode(response.body, from: "the container credentials endpoint")
        }
    }

    // MARK: Web identity

    static func webIdentity(stsEndpoint: String, roleARN: String, sessionName: String, tokenFile: String) -> RefreshingCredentialProvider {
        let base = stsEndpoint.hasSuffix("/") ? String(stsEndpoint.dropLast()) : stsEndpoint
        return RefreshingCredentialProvider("STS AssumeRoleWithWebIdentity (\(roleARN))") {
            // The token file is rotated by the platform (kubelet); read it on every exchange.
            guard let data = FileManager.default.contents(atPath: tokenFile),
                  case let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
                throw Failure(description: "cannot read the web identity token in \(tokenFile)")
            }
            let form: [(String, String)] = [
                ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleARN),
                ("RoleSessionName", sessionName), ("WebIdentityToken", token),
            ]
            // In a form body, as the SDKs send it: a URL with the token would land in access logs.
            let response = try await request(.POST, base + "/", headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                                             body: SigV4Signer.canonicalQuery(form))
            let xml = S3XML.parse(Array(response.body.utf8))
            guard response.status == 200, let credentials = xml?.first("AssumeRoleWithWebIdentityResult")?.first("Credentials"),
                  let key = credentials["AccessKeyId"], let secret = credentials["SecretAccessKey"] else {
                let code = xml?.first("Error")?["Code"] ?? xml?["Code"] ?? "\(response.status)"
                throw Failure(description: "STS refused AssumeRoleWithWebIdentity: \(code)")
            }
            return ExpiringCredentials(AWSCredentials(accessKey: key, secretKey: secret, sessionToken: credentials["SessionToken"]),
                                       expiration: try credentials["Expiration"].map { try date($0, from: "STS") })
        }
    }
}
