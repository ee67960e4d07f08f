import OCI
import Testing

@Suite struct SupplyChainArtifactTests {
    @Test func artifactTypesOfTheCommonTools() {
        let cases: [(String, String?)] = [
            ("application/vnd.dev.cosign.artifact.sig.v1+json", "signed (cosign)"),
            ("application/vnd.cncf.notary.signature", "signed (notation)"),
            ("application/vnd.dev.sigstore.bundle.v0.3+json", "signed (sigstore)"),
            ("application/spdx+json", "SBOM (SPDX)"),
            ("text/spdx", "SBOM (SPDX)"),
            ("application/vnd.cyclonedx+json", "SBOM (CycloneDX)"),
            ("application/vnd.in-toto+json", "attestation (in-toto)"),
            ("application/vnd.oci.image.config.v1+json", nil),
            ("application/vnd.example.thing", nil),
        ]
        for (type, label) in cases {
            #expect(SupplyChainArtifact(artifactType: type)?.label == label, "\(type)")
        }
    }

    @Test func cosignsTagScheme() throws {
        let hex = String(repeating: "ab", count: 32)
        let subject = try Digest(algorithm: .sha256, hex: hex)
        #expect(SupplyChainArtifact.tagScheme("sha256-\(hex).sig")?.artifact == SupplyChainArtifact(kind: .signature, format: "cosign"))
        #expect(SupplyChainArtifact.tagScheme("sha256-\(hex).att")?.artifact?.kind == .attestation)
        #expect(SupplyChainArtifact.tagScheme("sha256-\(hex).sbom")?.artifact?.kind == .sbom)
        let index = try #require(SupplyChainArtifact.tagScheme("sha256-\(hex)"))
        #expect(index.subject == subject && index.artifact == nil)
        for plain in ["v1", "sha256-\(hex).tar", "sha256-\(hex.prefix(63)).sig", "sha256-\(hex.uppercased()).sig", "sha512-\(hex).sig"] {
            #expect(SupplyChainArtifact.tagScheme(plain) == nil, "\(plain)")
        }
    }
}
