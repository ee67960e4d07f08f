import Foundation
import NIOHTTP1
import OCI

extension RegistryClient {
    public struct FetchedManifest: Sendable {
        public var bytes: [UInt8]
        public var mediaType: String
        public var digest: Digest
        public var parsed: Manifest
    }

    public static let manifestAccept = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest]

    /// A manifest or index by tag or digest, verified against its digest.
    public func manifest(_ repository: RepositoryName, _ reference: Reference) async throws -> FetchedManifest {
        let response = try await send(.GET, "/v2/\(repository.value)/manifests/\(reference)", scope: pullScope(repository),
                                      accept: Self.manifestAccept, maxBody: Manifest.maxSize)
        let bytes = response.bytes
        let headerDigest = response.header("Docker-Content-Digest").flatMap { try? Digest(parsing: $0) }
        let expected = reference.digest ?? headerDigest
        let digest = Digest.compute(bytes, algorithm: expected?.algorithm ?? .sha256)
        if let expected, expected != digest {
            throw ClientError.invalidResponse("\(host): manifest \(reference) has digest \(digest), expected \(expected)")
        }
        let mediaType = response.header("Content-Type").map(MediaType.essence) ?? ""
        let parsed: Manifest
        do {
            parsed = try Manifest(parsing: bytes, contentType: MediaType.manifestTypes.contains(mediaType) ? mediaType : nil)
        } catch {
            throw ClientError.invalidResponse("\(host): \(repository.value):\(reference) is not a manifest this tool reads (\(error.message))")
        }
        return FetchedManifest(bytes: bytes, mediaType: parsed.mediaType, digest: digest, parsed: parsed)
    }

    /// The digest a tag points at, from a HEAD request.
    public func resolve(_ repository: RepositoryName, _ reference: Reference) async throws -> Digest {
        if let digest = reference.digest { return digest }
        let response: Response
        do {
            response = try await send(.HEAD, "/v2/\(repository.value)/manifests/\(reference)", scope: pullScope(repository),
                                      accept: Self.manifestAccept)
        } catch ClientError.registry(404, let errors, _) {
            // A HEAD carries no error body: say what was not found.
            throw ClientError.registry(status: 404, errors: errors.isEmpty ? [RegistryErrorBody.Entry(
                code: "MANIFEST_UNKNOWN", message: "no such image \(repository.value)\(reference.tag.map { ":\($0.value)" } ?? "@\(reference)")")] : errors,
                url: host)
        }
        if let digest = response.header("Docker-Content-Digest").flatMap({ try? Digest(parsing: $0) }) { return digest }
        return try await manifest(repository, reference).digest
    }

    /// A small blob (a config), read whole and verified.
    public func blob(_ repository: RepositoryName, _ digest: Digest, maxSize: Int = 16 << 20) async throws -> [UInt8] {
        let response = try await send(.GET, "/v2/\(repository.value)/blobs/\(digest)", scope: pullScope(repository),
                                      accept: [], maxBody: maxSize)
        let bytes = response.bytes
        guard Digest.compute(bytes, algorithm: digest.algorithm) == digest else {
            throw ClientError.invalidResponse("\(host): blob \(digest) does not match its digest")
        }
        return bytes
    }

    public struct Referrers: Sendable {
        public var manifests: [Descriptor]
        /// True when they came from the OCI referrers tag schema (`<alg>-<hex>`), which
        /// cosign, notation and oras write on registries without the referrers API.
        public var fromTagSchema: Bool
    }

    /// The referrers of a manifest: from the referrers API, else from the tag schema; nil
    /// when the registry has neither.
    public func referrers(_ repository: RepositoryName, _ digest: Digest) async throws -> Referrers? {
        let response = try await send(.GET, "/v2/\(repository.value)/referrers/\(digest)", scope: pullScope(repository),
                                      accept: [MediaType.ociIndex], maxBody: 16 << 20, allow: [404, 405])
        if response.status == 200 {
            return Referrers(manifests: try decode(ImageIndex.self, response, what: "referrers").manifests, fromTagSchema: false)
        }
        guard let tag = try? Tag("\(digest.algorithm.rawValue)-\(digest.hex)") else { return nil }
        let fallback = try await send(.GET, "/v2/\(repository.value)/manifests/\(tag.value)", scope: pullScope(repository),
                                      accept: [MediaType.ociIndex], maxBody: Manifest.maxSize, allow: [404])
        guard fallback.status == 200 else { return nil }
        return Referrers(manifests: try decode(ImageIndex.self, fallback, what: "referrers tag").manifests, fromTagSchema: true)
    }

    /// Deletes a tag (where the registry supports it) or a manifest by digest.
    public func deleteManifest(_ repository: RepositoryName, _ reference: Reference) async throws {
        _ = try await send(.DELETE, "/v2/\(repository.value)/manifests/\(reference)",
                           scope: "repository:\(repository.value):delete", accept: [])
    }
}
