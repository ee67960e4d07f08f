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
