import Foundation
import Synchronization
@testable import Storage
import Testing

/// Where the S3 driver finds its keys, and how temporary ones are renewed. The remote
/// sources themselves are exercised end to end in Tests/e2e/s3.sh (a mock of AWS's
/// endpoints handing out radosgw's real session credentials).
@Suite struct AWSCredentialTests {
    @Test func sharedCredentialsFileProfiles() throws {
        let text = """
        # comment
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = default-secret

        [ci]
        ; another comment
        aws_access_key_id=AKIDCI
        aws_secret_access_key=ci/secret+with=equals
        aws_session_token = token-of-ci
        [broken]
        aws_access_key_id = only-a-key
        """
        let defaults = try #require(try SharedCredentialsFile.credentials(text: text, profile: "default"))
        #expect(defaults.accessKey == "AKIDDEFAULT" && defaults.secretKey == "default-secret" && defaults.sessionToken == nil)
        let ci = try #require(try SharedCredentialsFile.credentials(text: text, profile: "ci"))
        #expect(ci.accessKey == "AKIDCI" && ci.secretKey == "ci/secret+with=equals" && ci.sessionToken == "token-of-ci")
        #expect(try SharedCredentialsFile.credentials(text: text, profile: "missing") == nil)
        #expect(throws: CredentialConfigurationError.self) { try SharedCredentialsFile.credentials(text: text, profile: "broken") }
        #expect(SharedCredentialsFile.profile(["AWS_PROFILE": "ci", "AWS_DEFAULT_PROFILE": "x"]) == "ci")
        #expect(SharedCredentialsFile.profile([:]) == "default")
        #expect(SharedCredentialsFile.path(["HOME": "/home/u"]) == "/home/u/.aws/credentials")
        #expect(SharedCredentialsFile.path(["HOME": "/home/u", "AWS_SHARED_CREDENTIALS_FILE": "/etc/berth/aws"]) == "/etc/berth/aws")
    }

    /// The AWS SDKs' order: configuration, environment, shared file, web identity,
    /// container, instance role.
    @Test func theChainLooksWhereTheSDKsLook() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("berth-aws-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        try "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = file-secret\n".write(toFile: home + "/.aws/credentials", atomically: true, encoding: .utf8)
        let empty = home + "/empty"
        func resolve(_ environment: [String: String], key: String? = nil, secret: String? = nil) throws -> any AWSCredentialProvider {
            try AWSCredentialChain.resolve(accessKey: key, secretKey: secret, region: "eu-west-1", environment: environment)
        }
        let everything = ["HOME": home, "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "env-secret",
                          "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"]
        #expect((try resolve(everything, key: "CFGKEY", secret: "cfg-secret") as? AWSCredentials)?.accessKey == "CFGKEY")
        #expect((try resolve(everything, key: "CFGKEY", secret: "") as? AWSCredentials)?.accessKey == "ENVKEY", "a key without a secret is not configured")
        var environment = everything
        environment["AWS_ACCESS_KEY_ID"] = nil
        #expect((try resolve(environment) as? AWSCredentials)?.accessKey == "FILEKEY")
        environment["HOME"] = empty
        #expect(try resolve(environment).description == "STS AssumeRoleWithWebIdentity (arn:aws:iam::1:role/r)")
        environment["AWS_ROLE_ARN"] = nil
        #expect(try resolve(environment).description == "the container credentials endpoint (http://169.254.170.2/v2/credentials/abc)")
        environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = nil
        environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:9/creds"
        #expect(try resolve(environment).description == "the container credentials endpoint (http://127.0.0.1:9/creds)")
        environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = nil
        #expect(try resolve(environment).description == "the instance metadata service (http://169.254.169.254)")
        environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://[fd00:ec2::254]/"
        #expect(try resolve(environment).description == "the instance metadata service (http://[fd00:ec2::254])")
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        #expect(throws: CredentialConfigurationError.self) { try resolve(environment) }
        #expect((try resolve(["HOME": empty, "AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T"]) as? AWSCredentials)?.sessionToken == "T")
    }

    final class FakeSource: Sendable {
        struct State { var fetches = 0; var failing = false; var lifetime: TimeInterval = 3600 }
        let state = Mutex(State())

        func fetch() async throws -> ExpiringCredentials {
            let (n, failing, lifetime) = state.withLock { s -> (Int, Bool, TimeInterval) in
                s.fetches += 1
                return (s.fetches, s.failing, s.lifetime)
            }
            try await Task.sleep(for: .milliseconds(50))
            if failing { throw RemoteCredentialSources.Failure(description: "source down") }
            return ExpiringCredentials(AWSCredentials(accessKey: "K\(n)", secretKey: "S\(n)", sessionToken: "T\(n)"),
                                       expiration: Date().addingTimeInterval(lifetime))
        }
    }

    @Test func temporaryCredentialsAreFetchedOnceAndRenewedBeforeTheyExpire() async throws {
        let source = FakeSource()
        let provider = RefreshingCredentialProvider("fake") { try await source.fetch() }
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await provider.credentials().accessKey } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(keys == ["K1"], "concurrent requests share one fetch")
        #expect(try await provider.credentials().accessKey == "K1")
        #expect(source.state.withLock { $0.fetches } == 1)

        // Credentials inside the renewal margin are renewed.
        let second = FakeSource()
        second.state.withLock { $0.lifetime = 1.5 }
        let renewing = RefreshingCredentialProvider("fake", refreshMargin: 1) { try await second.fetch() }
        #expect(try await renewing.credentials().accessKey == "K1")
        try await Task.sleep(for: .seconds(1))
        #expect(try await renewing.credentials().accessKey == "K2")
    }

    @Test func aSourceThatFailsKeepsValidCredentialsAndIsNotAskedOnEveryRequest() async throws {
        let source = FakeSource()
        // Long enough that late wake-ups on a loaded machine (seen: 10 s) stay inside it.
        source.state.withLock { $0.lifetime = 20 }
        let provider = RefreshingCredentialProvider("fake", refreshMargin: 19, retryAfter: 60) { try await source.fetch() }
        #expect(try await provider.credentials().accessKey == "K1")
        let expiry = Date().addingTimeInterval(20)
        source.state.withLock { $0.failing = true }
        try await Task.sleep(for: .seconds(1.5))
        // Inside the margin, the renewal fails: the still valid credentials are used, and
        // the source is not asked again at once.
        for _ in 0..<5 { #expect(try await provider.credentials().accessKey == "K1") }
        #expect(source.state.withLock { $0.fetches } == 2)
        // Once they have expired, requests fail as unavailable, without a fetch each.
        try await Task.sleep(for: .seconds(max(0, expiry.timeIntervalSinceNow) + 0.5))
        for _ in 0..<3 {
            do {
                _ = try await provider.credentials()
                Issue.record("expired credentials were used")
            } catch let error as StorageError {
                guard case .unavailable(let message) = error else { Issue.record("\(error)"); continue }
                #expect(message.contains("source down"))
            }
        }
        #expect(source.state.withLock { $0.fetches } == 2)
    }
}
