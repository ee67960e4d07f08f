import NIOCore
import AsyncHTTPClient
import Foundation
import OCI
import Testing
@testable import Client

@Suite struct ClientParsingTests {
    @Test func imageReferences() throws {
        let full = try ImageReference(parsing: "registry.example.com:5000/team/app:v1")
        #expect(full.host == "registry.example.com:5000")
        #expect(full.repository?.value == "team/app")
        #expect(full.reference == .tag(try Tag("v1")))
        #expect(full.scheme == nil)

        let digest = "sha256:" + String(repeating: "a", count: 64)
        let byDigest = try ImageReference(parsing: "http://127.0.0.1:5000/app@\(digest)")
        #expect(byDigest.scheme == .http)
        #expect(byDigest.reference == .digest(try Digest(parsing: digest)))
        #expect(byDigest.description == "127.0.0.1:5000/app@\(digest)")

        let hostOnly = try ImageReference(parsing: "localhost:5000/")
        #expect(hostOnly.repository == nil && hostOnly.reference == nil)

        #expect(throws: ClientError.self) { try ImageReference(parsing: "team/app:v1") }
        #expect(throws: ClientError.self) { try ImageReference(parsing: "localhost/Team/App") }
        #expect(throws: ClientError.self) { try ImageReference(parsing: "localhost/app@sha256:short") }
        #expect(throws: ClientError.self) { try ImageReference(parsing: "localhost/../etc:v1") }
    }

    @Test func challenges() throws {
        let bearer = try #require(AuthChallenge(header: #"Bearer realm="https://auth.example.com/token",service="Berth registry",scope="repository:team/app:pull,push""#))
        #expect(bearer.scheme == "bearer")
        #expect(bearer.realm == "https://auth.example.com/token")
        #expect(bearer.service == "Berth registry")
        #expect(bearer.scope == "repository:team/app:pull,push")

        let basic = try #require(AuthChallenge(header: #"Basic realm="a \"quoted\" realm""#))
        #expect(basic.scheme == "basic")
        #expect(basic.realm == #"a "quoted" realm"#)
        #expect(AuthChallenge(header: "") == nil)
    }

    @Test func linkHeaders() {
        #expect(RegistryClient.nextLink(#"</v2/_catalog?last=b&n=2>; rel="next""#) == "/v2/_catalog?last=b&n=2")
        #expect(RegistryClient.nextLink(nil) == nil)
        #expect(RegistryClient.nextLink(#"</x>; rel="prev""#) == nil)
    }

    @Test func loopbackHosts() {
        #expect(RegistryClient.isLoopback("127.0.0.1:5000"))
        #expect(RegistryClient.isLoopback("localhost"))
        #expect(RegistryClient.isLoopback("[::1]:5000"))
        #expect(!RegistryClient.isLoopback("registry.example.com"))
    }

    @Test func savedCredentials() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("berth-creds-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let podman = dir.appendingPathComponent("auth.json").path
        let docker = dir.appendingPathComponent("config.json").path
        try Data(#"{"auths":{"a.example.com":{"auth":"\#(Data("alice:p:w".utf8).base64EncodedString())"}}}"#.utf8).write(to: URL(fileURLWithPath: podman))
        try Data(#"{"auths":{"https://b.example.com/v1/":{"auth":"","identitytoken":"refresh-me"},"a.example.com":{"auth":"\#(Data("other:x".utf8).base64EncodedString())"}}}"#.utf8).write(to: URL(fileURLWithPath: docker))
        let store = CredentialStore(files: [podman, docker])
        #expect(try store.credentials(for: "a.example.com") == .basic(username: "alice", password: "p:w"))
        #expect(try store.credentials(for: "b.example.com") == .identityToken("refresh-me"))
        #expect(try store.credentials(for: "c.example.com") == nil)

        let standard = CredentialStore.standard(environment: ["HOME": "/home/u", "REGISTRY_AUTH_FILE": "/x/auth.json", "XDG_RUNTIME_DIR": "/run/user/1"])
        #expect(standard.files == ["/x/auth.json", "/run/user/1/containers/auth.json", "/home/u/.config/containers/auth.json", "/home/u/.docker/config.json"])

        try Data("not json".utf8).write(to: URL(fileURLWithPath: podman))
        #expect(throws: ClientError.self) { try store.credentials(for: "a.example.com") }
    }
}

@Suite struct TransportFailureTests {
    @Test func failuresBelowHTTPAreSaidInWords() {
        let refused = IOError(errnoCode: ECONNREFUSED, reason: "connection reset (error set)")
        #expect(TransportFailure.kind(of: refused) == .refused)
        #expect(TransportFailure.describe(refused, host: "127.0.0.1:5999", scheme: "http") == "nothing listens on 127.0.0.1:5999 (connection refused)")
        let closed = HTTPClientError.remoteConnectionClosed
        #expect(TransportFailure.describe(closed, host: "127.0.0.1:5443", scheme: "http").hasSuffix("does it speak TLS? use https://127.0.0.1:5443"))
        #expect(TransportFailure.kind(of: HTTPClientError.connectTimeout) == .timedOut)
        struct Wrapped: Error, CustomStringConvertible { var description: String }
        #expect(TransportFailure.kind(of: Wrapped(description: "handshakeFailed(sslError: [CERTIFICATE_VERIFY_FAILED])")) == .untrustedCertificate)
        #expect(TransportFailure.describe(Wrapped(description: "something else"), host: "h:1", scheme: "https") == "cannot reach h:1: something else")
    }
}
