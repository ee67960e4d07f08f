import Foundation
@testable import Server
import Testing

@Suite struct FormDecodingTests {
    @Test func tokenRequestParametersAreFormDecoded() {
        let pairs = TokenEndpoint.formDecode("service=Berth+registry&scope=repository%3Ateam%2Fapp%3Apull%2Cpush&scope=x&offline_token=true&empty=&bare")
        #expect(pairs.map(\.0) == ["service", "scope", "scope", "offline_token", "empty", "bare"])
        #expect(pairs.map(\.1) == ["Berth registry", "repository:team/app:pull,push", "x", "true", "", ""])
    }

    @Test func malformedEscapesAreKeptAsWritten() {
        #expect(TokenEndpoint.formDecode("a=%zz&b=%&c=%4&d=100%25&e=caf%C3%A9").map(\.1) == ["%zz", "%", "%4", "100%", "café"])
        #expect(TokenEndpoint.formDecode("%41%42=%FF").first?.0 == "AB")
        #expect(TokenEndpoint.formDecode("&&=x").map(\.0) == [""])
    }

    @Test func basicCredentialsAreReadFromTheHeadersBytes() {
        func basic(_ plain: String, scheme: String = "Basic ") -> String { scheme + Data(plain.utf8).base64EncodedString() }
        #expect(TokenEndpoint.basicCredentials(basic("alice:s3cr:et"))! == ("alice", "s3cr:et"))
        #expect(TokenEndpoint.basicCredentials(basic("b\u{F6}b:p\u{E4}ss", scheme: "BASIC \t "))! == ("b\u{F6}b", "p\u{E4}ss"))
        #expect(TokenEndpoint.basicCredentials(basic(":", scheme: "basic "))! == ("", ""))
        for unreadable in [basic("no-colon"), basic("a:b", scheme: "Bearer "), basic("a:b", scheme: "Basic"), "Basic", "Basic !!!!",
                           "Basic " + Data([0x61, 0x3A, 0xFF]).base64EncodedString(), basic("a:" + String(repeating: "x", count: 17 * 1024)),
                           basic("a:b", scheme: "Basi\u{0}c ")] {
            #expect(TokenEndpoint.basicCredentials(unreadable) == nil, "\(unreadable.prefix(40))")
        }
    }
}
