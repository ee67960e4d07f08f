import Crypto
import Foundation
import OCI
import Policies
import Storage
import Testing

/// Signature-required pulls through the content seam, with signatures made as cosign makes them.
@Suite struct SignedImagesTests {
    typealias Chunks = ImmutableTagsTests.Chunks
    typealias Fixed = ImmutableTagsTests.Fixed
    let prod = try! RepositoryName("prod/app")

    func upload(_ content: any RegistryContent, _ bytes: [UInt8]) async throws -> OCI.Digest {
        let id = try await content.startUpload(prod)
        _ = try await content.appendUpload(prod, id, at: 0, from: Chunks(parts: [bytes]))
        let digest = OCI.Digest.compute(bytes)
        _ = try await content.completeUpload(prod, id, digest: digest)
        return digest
    }

    func image(_ content: any RegistryContent, seed: Int, tag: String) async throws -> OCI.Digest {
        let config = Array(#"{"seed":\#(seed)}"#.utf8)
        let digest = try await upload(content, config)
        let manifest = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(digest)","size":\#(config.count)},"layers":[]}"#.utf8)
        return try await content.putManifest(prod, .tag(try Tag(tag)), bytes: manifest, contentType: MediaType.ociManifest).digest
    }

    /// As cosign sign: the simple-signing payload naming `names`, signed, under the .sig tag of
    /// `image` (or as a referrer of it).
    func sign(_ content: any RegistryContent, _ image: OCI.Digest, names: OCI.Digest? = nil, asReferrer: Bool = false,
              signer: ([UInt8]) throws -> [UInt8]) async throws {
        let payload = Array(#"{"critical":{"identity":{"docker-reference":"registry/prod/app"},"image":{"docker-manifest-digest":"\#(names ?? image)"},"type":"cosign container image signature"},"optional":null}"#.utf8)
        let payloadDigest = try await upload(content, payload)
        let config = Array("{}".utf8)
        let configDigest = try await upload(content, config)
        let signature = Data(try signer(payload)).base64EncodedString()
        let subject = asReferrer ? #","artifactType":"application/vnd.dev.cosign.artifact.sig.v1+json","subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(image)","size":1}"# : ""
        let manifest = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(configDigest)","size":2},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"\#(payloadDigest)","size":\#(payload.count),"annotations":{"dev.cosignproject.cosign/signature":"\#(signature)"}}]\#(subject)}"#.utf8)
        let reference: Reference = asReferrer ? .digest(OCI.Digest.compute(manifest)) : .tag(try Tag("sha256-\(image.hex).sig"))
        _ = try await content.putManifest(prod, reference, bytes: manifest, contentType: MediaType.ociManifest)
    }

    func pull(_ content: any RegistryContent, _ reference: Reference) async -> String? {
        do { _ = try await content.manifest(prod, reference); return nil } catch let error as ContentError { return error.description } catch { return "other: \(error)" }
    }

    @Test func onlyImagesSignedByATrustedKeyPull() async throws {
        let key = P256.Signing.PrivateKey(), other = P256.Signing.PrivateKey()
        let keys = try SignatureKeys(pem: key.publicKey.pemRepresentation)
        let store = RegistryStore(driver: InMemoryDriver())
        let content = PolicedContent(store, policies: Fixed(list: [SignedImages(rules: [.init(repositories: "prod/*", keys: keys, label: "signed #1", id: "a")])]))

        let signed = try await image(content, seed: 1, tag: "signed")
        let unsigned = try await image(content, seed: 2, tag: "unsigned")
        let byOther = try await image(content, seed: 3, tag: "by-other")
        let namesAnother = try await image(content, seed: 4, tag: "names-another")
        let referred = try await image(content, seed: 5, tag: "referred")
        try await sign(content, signed) { try key.signature(for: $0).derRepresentation.bytes }
        try await sign(content, byOther) { try other.signature(for: $0).derRepresentation.bytes }
        try await sign(content, namesAnother, names: signed) { try key.signature(for: $0).derRepresentation.bytes }
        try await sign(content, referred, asReferrer: true) { try key.signature(for: $0).derRepresentation.bytes }

        #expect(await pull(content, .tag(try Tag("signed"))) == nil)
        #expect(await pull(content, .digest(signed)) == nil)
        #expect(await pull(content, .digest(referred)) == nil)
        let refused = await pull(content, .tag(try Tag("unsigned")))
        #expect(refused == "image is not signed by a trusted key (signed #1: prod/*): prod/app@\(unsigned)")
        #expect(await pull(content, .digest(byOther))?.hasPrefix("image is not signed by a trusted key") == true)
        #expect(await pull(content, .digest(namesAnother))?.hasPrefix("image is not signed by a trusted key") == true)
        // A HEAD answers the digest (what a signer needs), never the content.
        #expect(try await content.manifestHead(prod, .tag(try Tag("unsigned"))).digest == unsigned)
        // The signatures themselves pull; repositories the rule does not cover are not checked.
        #expect(await pull(content, .tag(try Tag("sha256-\(signed.hex).sig"))) == nil)
        let elsewhere = PolicedContent(store, policies: Fixed(list: [SignedImages(rules: [.init(repositories: "other/*", keys: keys, label: "signed #1", id: "a")])]))
        #expect(await pull(elsewhere, .digest(unsigned)) == nil)

        // A signature pushed later is found at the next pull.
        try await sign(content, unsigned) { try key.signature(for: $0).derRepresentation.bytes }
        #expect(await pull(content, .digest(unsigned)) == nil)
    }

    @Test func ed25519KeysVerifyAndBadKeysAreRefused() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let spki = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]) + key.publicKey.rawRepresentation
        let pem = "-----BEGIN PUBLIC KEY-----\n\(spki.base64EncodedString())\n-----END PUBLIC KEY-----\n"
        let p256 = P256.Signing.PrivateKey().publicKey.pemRepresentation
        let keys = try SignatureKeys(pem: p256 + "\n" + pem)
        #expect(keys.count == 2)
        let store = RegistryStore(driver: InMemoryDriver())
        let content = PolicedContent(store, policies: Fixed(list: [SignedImages(rules: [.init(repositories: "prod/*", keys: keys, label: "signed #1", id: "b")])]))
        let signed = try await image(content, seed: 1, tag: "v1")
        try await sign(content, signed) { Array(try key.signature(for: $0)) }
        #expect(await pull(content, .digest(signed)) == nil)

        #expect(throws: SignatureKeyError.self) { try SignatureKeys(pem: "not a key") }
        let rsa = "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END PUBLIC KEY-----"
        #expect(throws: SignatureKeyError.self) { try SignatureKeys(pem: rsa) }
        #expect(throws: (any Error).self) { try PolicyKinds.check(kind: "signed", spec: ["name": "prod/*", "key": rsa]) }
        #expect(throws: Never.self) { try PolicyKinds.check(kind: "signed", spec: ["name": "prod/*", "key": pem]) }
    }
}

extension Data { var bytes: [UInt8] { Array(self) } }
