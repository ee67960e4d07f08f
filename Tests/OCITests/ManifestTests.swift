import OCI
import Testing

@Suite struct ManifestTests {
    static let config = #"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\#(String(repeating: "c", count: 64))","size":10}"#
    static let layer = #"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:\#(String(repeating: "d", count: 64))","size":20}"#

    @Test func parsesOCIImageManifest() throws {
        let json = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(Self.config),"layers":[\#(Self.layer)]}"#
        let m = try Manifest(parsing: Array(json.utf8), contentType: MediaType.ociManifest)
        #expect(m.kind == .image)
        #expect(m.referencedBlobs.count == 2)
        #expect(m.effectiveArtifactType == "application/vnd.oci.image.config.v1+json")
    }

    @Test func infersTypeWhenOmittedAndReadsSubject() throws {
        let subject = #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(String(repeating: "e", count: 64))","size":5}"#
        let json = #"{"schemaVersion":2,"artifactType":"application/x-sbom","config":\#(Self.config),"layers":[],"subject":\#(subject)}"#
        let m = try Manifest(parsing: Array(json.utf8), contentType: nil)
        #expect(m.mediaType == MediaType.ociManifest)
        #expect(m.subject?.digest.hex == String(repeating: "e", count: 64))
        #expect(m.effectiveArtifactType == "application/x-sbom")
    }

    @Test func parsesIndex() throws {
        let child = #"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(String(repeating: "f", count: 64))","size":5,"platform":{"architecture":"arm64","os":"linux"}}"#
        let json = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\#(child)]}"#
        let m = try Manifest(parsing: Array(json.utf8), contentType: MediaType.ociIndex)
        #expect(m.kind == .index)
        #expect(m.manifests.first?.platform?.architecture == "arm64")
    }

    @Test(arguments: [
        ("not json", MediaType.ociManifest),
        (#"{"schemaVersion":1,"config":\#(config),"layers":[]}"#, MediaType.ociManifest),
        (#"{"schemaVersion":2,"layers":[]}"#, MediaType.ociManifest),
        (#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":\#(config)}"#, MediaType.ociManifest),
        (#"{"schemaVersion":2,"config":\#(config),"layers":[]}"#, MediaType.dockerManifest),
        (#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:bad","size":1},"layers":[]}"#, MediaType.ociManifest),
        (#"{"schemaVersion":2,"config":\#(config),"layers":[]}"#, "application/vnd.docker.distribution.manifest.v1+prettyjws"),
        (#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:\#(String(repeating: "c", count: 64))","size":-1},"layers":[]}"#, MediaType.ociManifest),
    ])
    func rejectsInvalid(_ json: String, _ contentType: String) {
        #expect(throws: RegistryError.self) { try Manifest(parsing: Array(json.utf8), contentType: contentType) }
    }

    @Test func errorBodiesAreSpecJSON() {
        let error = RegistryError(.nameInvalid, message: "bad \"name\"\n", detailJSON: RegistryError.detail(["name": "x\\y"]))
        #expect(error.jsonBody == #"{"errors":[{"code":"NAME_INVALID","message":"bad \"name\"\n","detail":{"name":"x\\y"}}]}"#)
        #expect(error.httpStatus == 400)
        #expect(RegistryError(.blobUploadInvalid).httpStatus == 404)
    }
}

/// Stored manifests of any origin, read back through `ManifestOutline`.
@Suite struct ManifestOutlineTests {
    let a = Digest.compute([1]), b = Digest.compute([2]), c = Digest.compute([3])

    @Test func imagesIndexesAndSubjects() throws {
        let image = try ManifestOutline(stored: Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.example+json","digest":"\#(a)","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\#(b)","size":1}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(c)","size":9}}"#.utf8))
        #expect(image.blobs == [a, b])
        #expect(image.subject == c)
        #expect(image.artifactType == "application/vnd.example+json")
        let index = try ManifestOutline(stored: Array(#"{"schemaVersion":2,"manifests":[{"digest":"\#(a)"},{"digest":"nonsense"}]}"#.utf8))
        #expect(index.mediaType == MediaType.ociIndex)
        #expect(index.children == [a])
        #expect(index.artifactType == nil)
    }

    /// What other registries may have stored: schema 1, descriptors missing fields.
    @Test func olderAndLooserContent() throws {
        let schema1 = try ManifestOutline(stored: Array(#"{"schemaVersion":1,"fsLayers":[{"blobSum":"\#(a)"},{"blobSum":"\#(b)"}],"signatures":[{}]}"#.utf8))
        #expect(schema1.mediaType == MediaType.dockerSchema1Signed)
        #expect(schema1.blobs == [a, b])
        let loose = try ManifestOutline(stored: Array(#"{"schemaVersion":2,"config":{"digest":"\#(a)"},"layers":[{"size":"x","digest":"\#(b)"}]}"#.utf8))
        #expect(loose.mediaType == MediaType.ociManifest)
        #expect(loose.blobs == [a, b])
        #expect(throws: (any Error).self) { try ManifestOutline(stored: Array("[1,2]".utf8)) }
    }

    @Test func foreignLayersWithURLsAreSetApart() throws {
        let json = #"{"schemaVersion":2,"config":{"digest":"\#(a)"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"\#(b)","urls":["https://mcr.microsoft.com/x"]},{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar","digest":"\#(c)"}]}"#
        let outline = try ManifestOutline(stored: Array(json.utf8))
        #expect(outline.foreignBlobs == [b])
        // Without URLs there is nowhere else to fetch it from: it must be stored.
        #expect(outline.blobs == [a, c])
    }
}
