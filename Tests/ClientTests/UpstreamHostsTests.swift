import Foundation
@testable import Client
import Testing

@Suite struct UpstreamHostsTests {
    let hub = UpstreamHosts(base: URL(string: "https://registry-1.docker.io")!)

    @Test func redirectsStayAwayFromThisMachine() {
        #expect(hub.mayFollowRedirect(to: URL(string: "https://production.cloudflare.docker.com/blob?sig=x")!))
        #expect(hub.mayFollowRedirect(to: URL(string: "https://registry-1.docker.io/v2/x")!))
        for target in ["http://production.cloudflare.docker.com/x", "https://127.0.0.1:5000/x", "https://localhost/x",
                       "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "https://2130706433/x", "https://0x7f.1/x",
                       "https://[::ffff:127.0.0.1]/x", "https://[fe80::1]/x", "https://0.0.0.0/x", "file:///etc/passwd", "gopher://x/"] {
            #expect(!hub.mayFollowRedirect(to: URL(string: target)!), "\(target)")
        }
        // An upstream on this machine may send the mirror to its own object store here.
        let local = UpstreamHosts(base: URL(string: "http://127.0.0.1:5000")!)
        #expect(local.mayFollowRedirect(to: URL(string: "http://127.0.0.1:9000/bucket/x")!))
        let tls = UpstreamHosts(base: URL(string: "https://registry.example.com")!)
        #expect(!tls.mayFollowRedirect(to: URL(string: "http://registry.example.com/x")!))
    }

    @Test func credentialsGoOnlyToTheRegistrysOwnTokenServer() {
        #expect(hub.maySendCredentials(to: URL(string: "https://auth.docker.io/token")!))
        #expect(!hub.maySendCredentials(to: URL(string: "https://evil.example/token")!))
        #expect(!hub.maySendCredentials(to: URL(string: "http://auth.docker.io/token")!))
        let gitlab = UpstreamHosts(base: URL(string: "https://registry.gitlab.com")!)
        #expect(gitlab.maySendCredentials(to: URL(string: "https://gitlab.com/jwt/auth")!))
        let uk = UpstreamHosts(base: URL(string: "https://registry.example.co.uk")!)
        #expect(!uk.maySendCredentials(to: URL(string: "https://evil.co.uk/token")!))
        #expect(uk.maySendCredentials(to: URL(string: "https://auth.example.co.uk/token")!))
        var listed = UpstreamHosts(base: URL(string: "https://registry.example.com")!)
        #expect(!listed.maySendCredentials(to: URL(string: "https://sso.corp.test/token")!))
        listed.tokenHosts = ["sso.corp.test"]
        #expect(listed.maySendCredentials(to: URL(string: "https://sso.corp.test/token")!))
        // Plain HTTP upstream on another port of the same host: not the same host.
        let plain = UpstreamHosts(base: URL(string: "http://127.0.0.1:5000")!)
        #expect(plain.maySendCredentials(to: URL(string: "http://127.0.0.1:5000/auth/token")!))
        #expect(!plain.maySendCredentials(to: URL(string: "http://127.0.0.1:6000/auth/token")!))
    }
}
