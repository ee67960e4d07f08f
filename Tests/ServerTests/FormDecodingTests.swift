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
}
