import Auth
import Foundation
import OCI
import Storage
import Synchronization

/// Pulls of images in matching repositories only when a signature by a trusted key names them:
/// a cosign signature stored under cosign's tag (`sha256-<hex>.sig`) or as a referrer, whose
/// simple-signing payload's `critical.image.docker-manifest-digest` is the image and whose
/// signature (`dev.cosignproject.cosign/signature`) verifies with one of the policy's keys.
/// Anything else is 403 DENIED "image is not signed by a trusted key". Signatures and other
/// supply-chain artifacts themselves always pull, and pushes are never blocked. An index's
/// signature covers its platform manifests (the client reads the index first). Verified
/// digests are remembered; an unsigned one is checked again at its next pull (its signature
/// may have been pushed since).
public struct SignedImages: RepositoryPolicy {
    public struct Rule: Sendable {
        public var repositories: String
        public var keys: SignatureKeys
        public var label: String
        /// The record's id: what a verification is remembered under (a rule replaced under
        /// the same number has another).
        public var id: String

        public init(repositories: String, keys: SignatureKeys, label: String, id: String) {
            self.repositories = repositories
            self.keys = keys
            self.label = label
            self.id = id
        }
    }

    public let rules: [Rule]
    let verified: VerifiedDigests

    public init(rules: [Rule], verified: VerifiedDigests = VerifiedDigests()) {
        self.rules = rules
        self.verified = verified
    }

    static let simpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
    static let signatureAnnotation = "dev.cosignproject.cosign/signature"
    /// What a signature may be: at most this many candidates, each payload at most this large.
    static let maxCandidates = 32, maxPayload = 64 * 1024

    public func beforeManifestRead(_ repository: RepositoryName, _ manifest: StoredManifest, content: any RegistryContent) async throws {
        let rules = self.rules.filter { Pattern.matches($0.repositories, repository.description) }
        guard !rules.isEmpty, !Self.isSupplyChainArtifact(manifest) else { return }
        for rule in rules {
            let key = VerifiedDigests.Key(repository: repository.description, digest: manifest.digest, rule: rule.id)
            if verified.contains(key) { continue }
            guard try await isSigned(manifest.digest, in: repository, by: rule.keys, content: content) else {
                throw ContentError.denied("image is not signed by a trusted key (\(rule.label): \(rule.repositories)): \(repository)@\(manifest.digest)")
            }
            verified.insert(key)
            // An index's signature covers what it lists.
            if let outline = try? ManifestOutline(stored: manifest.bytes) {
                for child in outline.children {
                    verified.insert(VerifiedDigests.Key(repository: repository.description, digest: child, rule: rule.id))
                }
            }
        }
    }

    static func isSupplyChainArtifact(_ manifest: StoredManifest) -> Bool {
        if let type = manifest.artifactType, SupplyChainArtifact(artifactType: type) != nil { return true }
        guard let parsed = try? Manifest(parsing: manifest.bytes, contentType: manifest.mediaType) else { return false }
        if let config = parsed.config, SupplyChainArtifact(artifactType: config.mediaType) != nil { return true }
        return !parsed.layers.isEmpty && parsed.layers.allSatisfy { SupplyChainArtifact(artifactType: $0.mediaType) != nil }
    }

    /// Whether a signature of `digest` stored beside it verifies with `keys`.
    func isSigned(_ digest: Digest, in repository: RepositoryName, by keys: SignatureKeys, content: any RegistryContent) async throws -> Bool {
        var candidates: [Digest] = []
        if let tag = try? Tag("\(digest.algorithm.rawValue)-\(digest.hex).sig"), let signature = try await content.resolveTag(repository, tag) {
            candidates.append(signature)
        }
        let referrers = (try? await content.referrers(repository, subject: digest, artifactType: nil)) ?? []
        candidates += referrers.filter { descriptor in
            descriptor.artifactType.flatMap(SupplyChainArtifact.init(artifactType:))?.kind == .signature
        }.map(\.digest)
        for candidate in candidates.prefix(Self.maxCandidates) {
            guard let stored = try? await content.manifest(repository, .digest(candidate)),
                  let signatureManifest = try? Manifest(parsing: stored.bytes, contentType: stored.mediaType) else { continue }
            for layer in signatureManifest.layers where layer.mediaType == Self.simpleSigning && layer.size <= Self.maxPayload {
                guard let encoded = layer.annotations?[Self.signatureAnnotation], let signature = Data(base64Encoded: encoded),
                      let payload = try await smallBlob(repository, layer.digest, content: content),
                      Self.names(payload, digest), keys.verify(Array(signature), of: payload) else { continue }
                return true
            }
        }
        return false
    }

    /// Whether a simple-signing payload names the image `digest`.
    static func names(_ payload: [UInt8], _ digest: Digest) -> Bool {
        struct Payload: Decodable {
            struct Critical: Decodable {
                struct Image: Decodable {
                    var digest: String
                    enum CodingKeys: String, CodingKey { case digest = "docker-manifest-digest" }
                }
                var image: Image
            }
            var critical: Critical
        }
        return (try? JSONDecoder().decode(Payload.self, from: Data(payload)))?.critical.image.digest == digest.description
    }

    private func smallBlob(_ repository: RepositoryName, _ digest: Digest, content: any RegistryContent) async throws -> [UInt8]? {
        var bytes: [UInt8] = []
        do {
            try await content.readBlob(repository, digest, range: nil) { chunk in
                guard bytes.count + chunk.readableBytes <= Self.maxPayload else { throw SignatureKeyError("payload too large") }
                bytes += chunk.readableBytesView
            }
        } catch {
            return nil
        }
        return Digest.compute(bytes) == digest ? bytes : nil
    }
}

/// Image digests whose signature verified, per repository and rule: bounded, shared by the
/// policies made for each generation of the rules.
public final class VerifiedDigests: Sendable {
    struct Key: Hashable, Sendable {
        var repository: String
        var digest: Digest
        var rule: String
    }

    private let entries = Mutex<Set<Key>>([])
    static let limit = 100_000

    public init() {}

    func contains(_ key: Key) -> Bool { entries.withLock { $0.contains(key) } }

    func insert(_ key: Key) {
        entries.withLock { set in
            if set.count >= Self.limit { set.removeAll(keepingCapacity: true) }
            set.insert(key)
        }
    }
}
