import Auth
import HTTPTypes
import Hummingbird
import NIOCore
@testable import Server
import Testing

/// Who the client is, decided in one place for every door.
@Suite struct ClientAddressTests {
    let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// The peer's address is read from the socket's bytes, as its text would parse.
    @Test func thePeersAddressComesFromTheSocket() throws {
        for text in ["127.0.0.1", "203.0.113.9", "::1", "2001:db8::7", "::ffff:10.0.0.1"] {
            let socket = try SocketAddress(ipAddress: text, port: 5000)
            #expect(BerthRequestContext.ipAddress(socket) == IPAddress(text), "\(text)")
        }
        #expect(IPAddress(bytes: [10, 0, 0, 1]) == IPAddress("::ffff:10.0.0.1"))
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(BerthRequestContext.ipAddress(try SocketAddress(unixDomainSocketPath: "/tmp/berth-test.sock")) == nil)
        #expect(BerthRequestContext.ipAddress(nil) == nil)
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() {
        let policy = ClientAddressPolicy()
        let headers: HTTPFields = [forwardedFor: "203.0.113.9, 10.0.0.5"]
        // nginx on loopback, another proxy on the private network before it.
        #expect(policy.resolve(peer: IPAddress("127.0.0.1"), headers: headers) == .address(IPAddress("203.0.113.9")))
        // A client on the internet cannot claim an address.
        #expect(policy.resolve(peer: IPAddress("198.51.100.4"), headers: headers) == .address(IPAddress("198.51.100.4")))
        // Spoofed hops left of the first untrusted one are ignored.
        let spoofed: HTTPFields = [forwardedFor: "10.9.9.9, 203.0.113.9"]
        #expect(policy.resolve(peer: IPAddress("127.0.0.1"), headers: spoofed) == .address(IPAddress("203.0.113.9")))
        var none = ClientAddressPolicy()
        none.trustedProxies = []
        #expect(none.resolve(peer: IPAddress("127.0.0.1"), headers: headers) == .address(IPAddress("127.0.0.1")))
    }

    @Test func realIPHeaderDecidesWhenConfigured() {
        var policy = ClientAddressPolicy()
        policy.realIPHeader = forwardedFor
        policy.realIPPosition = -1
        #expect(policy.resolve(peer: IPAddress("198.51.100.4"), headers: [forwardedFor: "1.2.3.4, 10.1.2.3"]) == .address(IPAddress("10.1.2.3")))
        #expect(policy.resolve(peer: IPAddress("198.51.100.4"), headers: [:]) == .missing)
    }

    @Test func forwardedHeadersOfUntrustedPeersAreRemoved() {
        let policy = ClientAddressPolicy()
        var head = HTTPRequest(method: .get, scheme: "http", authority: "registry.example.com", path: "/v2/")
        head.headerFields[HTTPField.Name("X-Forwarded-Host")!] = "evil.example"
        head.headerFields[HTTPField.Name("Forwarded")!] = "host=evil.example;proto=http"
        let request = Request(head: head, body: .init(buffer: ByteBuffer()))
        let fromOutside = policy.sanitized(request, peer: IPAddress("198.51.100.4"))
        #expect(fromOutside.headers[HTTPField.Name("X-Forwarded-Host")!] == nil)
        #expect(fromOutside.headers[HTTPField.Name("Forwarded")!] == nil)
        let fromProxy = policy.sanitized(request, peer: IPAddress("127.0.0.1"))
        #expect(fromProxy.headers[HTTPField.Name("X-Forwarded-Host")!] == "evil.example")
    }
}

@Suite struct TrustedProxiesConfigTests {
    @Test func aBadTrustedProxyStopsTheStartWithTheKey() async throws {
        let fixture = APIFixture {
            $0.trustedProxies = ["10.0.0.300/8"]
            $0.tokenAuth = .builtIn
        }
        await #expect(throws: AuthError.configuration("http.trustedproxies: 10.0.0.300/8 is not an address or CIDR range")) {
            try await fixture.run { _, _ in }
        }
    }
}
