import OCI
import Testing

@Suite struct DigestTests {
    @Test func parsesSHA256AndSHA512() throws {
        let d256 = try Digest(parsing: "sha256:" + String(repeating: "a", count: 64))
        #expect(d256.algorithm == .sha256)
        let d512 = try Digest(parsing: "sha512:" + String(repeating: "0", count: 128))
        #expect(d512.algorithm == .sha512)
        #expect(d512.description.hasPrefix("sha512:"))
    }

    @Test(arguments: [
        "sha256:totallywrong", "sha256:", "sha256", "md5:" + String(repeating: "a", count: 32),
        "sha256:" + String(repeating: "A", count: 64), "sha256:" + String(repeating: "a", count: 63),
        "sha256:../../../etc/passwd", "SHA256:" + String(repeating: "a", count: 64), "",
        "sha512:" + String(repeating: "a", count: 64),
    ])
    func rejectsMalformed(_ text: String) {
        #expect(throws: RegistryError.self) { try Digest(parsing: text) }
        do { _ = try Digest(parsing: text) } catch { #expect(error.code == .digestInvalid) }
    }

    @Test func computesKnownDigests() {
        let hello = Array("hello".utf8)
        #expect(Digest.compute(hello).description == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(Digest.compute(hello, algorithm: .sha512).hex.hasPrefix("9b71d224bd62f378"))
    }

    @Test func incrementalHashingMatchesOneShot() {
        let bytes = (0..<10_000).map { UInt8($0 % 251) }
        var hasher = DigestHasher(algorithm: .sha256)
        hasher.update(Array(bytes[..<3333]))
        let paused = hasher
        var resumed = paused
        resumed.update(Array(bytes[3333...]))
        #expect(resumed.finalize() == Digest.compute(bytes))
    }
}

@Suite struct NameTests {
    @Test(arguments: ["a", "library/ubuntu", "my-org/my_app", "a__b", "a.b-c/d--e", "x/y/z/w", "0/1"])
    func acceptsValidNames(_ name: String) throws {
        #expect(try RepositoryName(name).value == name)
    }

    @Test(arguments: [
        "", "A", "a/", "/a", "a//b", "..", "a/../b", "a/./b", "-a", "a-", "a_", "a___b", "a..b", "a b", "a%2Fb",
        "a\u{0}b", String(repeating: "a", count: 256), "ünïcode", "a/B",
    ])
    func rejectsInvalidNames(_ name: String) {
        #expect(throws: RegistryError.self) { try RepositoryName(name) }
    }

    @Test(arguments: ["latest", "v1.0.0", "_x", "A-b_c.d", String(repeating: "t", count: 128)])
    func acceptsValidTags(_ tag: String) throws {
        #expect(try Tag(tag).value == tag)
    }

    @Test(arguments: ["", ".hidden", "-x", "..", "a/b", "a:b", String(repeating: "t", count: 129), "tag with space"])
    func rejectsInvalidTags(_ tag: String) {
        #expect(throws: RegistryError.self) { try Tag(tag) }
    }

    @Test func referenceDistinguishesTagsAndDigests() throws {
        #expect(try Reference(parsing: "latest").tag?.value == "latest")
        #expect(try Reference(parsing: "sha256:" + String(repeating: "b", count: 64)).digest != nil)
        #expect(throws: RegistryError.self) { try Reference(parsing: "sha256:nothex") }
    }
}
