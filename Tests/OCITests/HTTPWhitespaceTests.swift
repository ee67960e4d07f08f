import OCI
import Testing

@Suite struct HTTPWhitespaceTests {
    /// Spaces and tabs around a value go; anything else, and whitespace inside, stays.
    @Test func onlyOptionalWhitespaceAroundIsTrimmed() {
        #expect("  abc\t".trimmingHTTPWhitespace() == "abc")
        #expect("a b".trimmingHTTPWhitespace() == "a b")
        #expect(" \t ".trimmingHTTPWhitespace() == "")
        #expect("".trimmingHTTPWhitespace() == "")
        #expect("x".trimmingHTTPWhitespace() == "x")
        #expect("\u{00A0}token\n".trimmingHTTPWhitespace() == "\u{00A0}token\n")
        let header = "Bearer   eyJ.a.b  "
        #expect(header.dropFirst(7).trimmingHTTPWhitespace() == "eyJ.a.b")
    }
}
