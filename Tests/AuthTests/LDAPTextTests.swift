@testable import Auth
import Testing

@Suite struct LDAPTextTests {
    @Test func filterValuesAreEscapedPerRFC4515() {
        #expect(LDAPText.escapeFilterValue("alice") == "alice")
        #expect(LDAPText.escapeFilterValue("*") == "\\2a")
        #expect(LDAPText.escapeFilterValue("a)(uid=*") == "a\\29\\28uid\\3d\\2a")
        #expect(LDAPText.escapeFilterValue("back\\slash") == "back\\5cslash")
        #expect(LDAPText.escapeFilterValue("nul\u{0}") == "nul\\00")
        #expect(LDAPText.escapeFilterValue("jürgen") == "jürgen")
    }

    @Test func dnValuesAreEscapedPerRFC4514() {
        #expect(LDAPText.escapeDNValue("alice,ou=people") == "alice\\,ou\\=people")
        #expect(LDAPText.escapeDNValue(" #x ") == "\\ #x\\ ")
        #expect(LDAPText.escapeDNValue("#x") == "\\#x")
    }

    @Test func parseCNTakesTheFirstRDNsValue() {
        #expect(LDAPText.commonName(ofDN: "cn=developers,ou=groups,dc=x") == "developers")
        #expect(LDAPText.commonName(ofDN: "CN=Team\\, Ops,ou=groups") == "Team, Ops")
        #expect(LDAPText.commonName(ofDN: "cn=caf\\c3\\a9,dc=x") == "café")
        #expect(LDAPText.commonName(ofDN: "uid=bob,ou=people") == "uid=bob,ou=people")
        #expect(LDAPText.commonName(ofDN: "developers") == "developers")
    }
}
