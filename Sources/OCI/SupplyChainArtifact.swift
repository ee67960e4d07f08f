/// What a signature, SBOM or attestation stored beside an image is, whichever way the tool
/// that made it attached it: as a referrer (its `subject` is the image; the kind is in its
/// artifact type) or under cosign's tag scheme (`sha256-<hex of the image>.sig`, `.att`,
/// `.sbom`; and `sha256-<hex>` alone, the referrers index a tool writes on a registry without
/// the referrers API).
public struct SupplyChainArtifact: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Comparable {
        case signature, attestation, sbom

        public static func < (a: Kind, b: Kind) -> Bool { a.order < b.order }
        private var order: Int { switch self { case .signature: 0; case .attestation: 1; case .sbom: 2 } }
    }

    public var kind: Kind
    /// Which tool's format: cosign, notation, sigstore, SPDX, CycloneDX, in-toto…
    public var format: String

    public init(kind: Kind, format: String) {
        self.kind = kind
        self.format = format
    }

    /// A badge's words: "signed (cosign)", "SBOM (SPDX)", "attestation (in-toto)".
    public var label: String {
        switch kind {
        case .signature: "signed (\(format))"
        case .attestation: "attestation (\(format))"
        case .sbom: "SBOM (\(format))"
        }
    }

    /// The artifact a referrer's artifact type (or, for an image-shaped artifact, its config
    /// media type) names; nil for anything else.
    public init?(artifactType: String) {
        let type = artifactType.lowercased()
        switch type {
        case "application/vnd.dev.cosign.artifact.sig.v1+json", "application/vnd.dev.cosign.simplesigning.v1+json":
            self.init(kind: .signature, format: "cosign")
        case "application/vnd.cncf.notary.signature":
            self.init(kind: .signature, format: "notation")
        case "application/vnd.dev.cosign.artifact.sbom.v1+json":
            self.init(kind: .sbom, format: "cosign")
        case _ where type.hasPrefix("application/vnd.dev.sigstore.bundle"):
            self.init(kind: .signature, format: "sigstore")
        case _ where type.contains("spdx"):
            self.init(kind: .sbom, format: "SPDX")
        case _ where type.contains("cyclonedx"):
            self.init(kind: .sbom, format: "CycloneDX")
        case _ where type.contains("syft"):
            self.init(kind: .sbom, format: "Syft")
        case _ where type.contains("in-toto") || type.contains("intoto"):
            self.init(kind: .attestation, format: "in-toto")
        case _ where type.contains("attestation") || type.contains("provenance") || type.contains("vuln"):
            self.init(kind: .attestation, format: "attestation")
        default:
            return nil
        }
    }

    /// A tag under cosign's scheme: the image it belongs to (`sha256:<hex>`) and, for
    /// `.sig`/`.att`/`.sbom`, what it holds (nil: a referrers index, which holds descriptors
    /// of artifacts, each a referrer in its own right).
    public static func tagScheme(_ tag: String) -> (subject: Digest, artifact: SupplyChainArtifact?)? {
        guard tag.hasPrefix("sha256-") else { return nil }
        let rest = tag.dropFirst("sha256-".count)
        let hex = rest.prefix(64)
        let suffix = rest.dropFirst(64)
        guard hex.count == 64, let subject = try? Digest(algorithm: .sha256, hex: String(hex)) else { return nil }
        switch suffix {
        case "": return (subject, nil)
        case ".sig": return (subject, SupplyChainArtifact(kind: .signature, format: "cosign"))
        case ".att": return (subject, SupplyChainArtifact(kind: .attestation, format: "cosign"))
        case ".sbom": return (subject, SupplyChainArtifact(kind: .sbom, format: "cosign"))
        default: return nil
        }
    }
}
