import Config
import Testing

/// Distribution's `middleware.storage` entries, read as Distribution writes them.
@Suite struct MiddlewareConfigTests {
    func config(_ middleware: String) throws -> RegistryConfiguration {
        try RegistryConfiguration(yaml: "version: 0.1\nstorage:\n  inmemory: {}\nmiddleware:\n" + middleware)
    }

    func refusal(_ middleware: String) -> String? {
        do { _ = try config(middleware); return nil } catch { return "\(error)" }
    }

    @Test func cloudfrontAndRedirectAreRead() throws {
        let cloudfront = try config("""
              storage:
                - name: cloudfront
                  options:
                    baseurl: https://d111111abcdef8.cloudfront.net/
                    privatekey: /etc/docker/cloudfront/pk-ABCEDFGHIJKLMNOPQRST.pem
                    keypairid: ABCEDFGHIJKLMNOPQRST
                    duration: 3000s
                    ipfilteredby: none
            """)
        #expect(cloudfront.storageMiddleware == [.init(name: "cloudfront", options: [
            "baseurl": "https://d111111abcdef8.cloudfront.net/", "privatekey": "/etc/docker/cloudfront/pk-ABCEDFGHIJKLMNOPQRST.pem",
            "keypairid": "ABCEDFGHIJKLMNOPQRST", "duration": "3000s", "ipfilteredby": "none"])])
        let redirect = try config("  storage:\n    - name: redirect\n      options:\n        baseurl: https://cdn.example.com/\n")
        #expect(redirect.storageMiddleware.first?.options == ["baseurl": "https://cdn.example.com/"])
        let disabled = try config("  storage:\n    - name: redirect\n      disabled: true\n      options:\n        baseurl: https://cdn.example.com/\n")
        #expect(disabled.storageMiddleware.isEmpty)
    }

    @Test func mistakesAreNamed() {
        #expect(refusal("  storage:\n    - name: rewrite\n      options: {}\n")?.contains("not a storage middleware Berth has") == true)
        #expect(refusal("  storage:\n    - name: redirect\n      options: {baseurl: https://x/, basurl: y}\n")?.contains("options.basurl") == true)
        #expect(refusal("  storage:\n    - name: cloudfront\n      options: {baseurl: https://x/, keypairid: K}\n")?.contains("privatekey is required") == true)
        #expect(refusal("  storage:\n    - name: cloudfront\n      options: {baseurl: https://x/, keypairid: K, privatekey: /k, ipfilteredby: awsregion}\n")?
            .contains("not supported") == true)
        #expect(refusal("  registry:\n    - name: x\n")?.contains("no registry middlewares") == true)
    }
}
