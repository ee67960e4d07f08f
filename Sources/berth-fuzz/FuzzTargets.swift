import Auth
import Config
import Foundation
import OCI

/// The parsers that read what clients send, as fuzz targets: each takes arbitrary bytes and
/// must return (a value or an error), never crash, hang or leak. Built normally this is a
/// replayer of the committed corpus (the regression test of every crash found); built with
/// `-sanitize=fuzzer -DFUZZING` (scripts/fuzz.sh) it is a libFuzzer binary.
enum FuzzTargets {
    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "manifest": manifest, "reference": reference, "pattern": pattern, "config": config, "jwt": jwt, "range": range,
    ]

    /// Manifests and indexes under every content type a client may claim.
    static func manifest(_ bytes: [UInt8]) {
        for type in [nil, MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList] {
            if let parsed = try? Manifest(parsing: bytes, contentType: type) {
                _ = parsed.referencedBlobs
                _ = parsed.effectiveArtifactType
            }
        }
    }

    /// Repository names, tags, digests and references, as URL path parts arrive.
    static func reference(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? Reference(parsing: text)
        _ = try? RepositoryName(text)
        _ = try? Tag(text)
        _ = try? Digest(parsing: text)
        _ = MediaType.essence(text)
        _ = PercentDecoding.decode(text)
    }

    /// docker_auth ACL patterns (globs and /regexes/) against values: pattern, a NUL, value.
    static func pattern(_ bytes: [UInt8]) {
        let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        let pattern = String(decoding: parts[0], as: UTF8.self)
        let value = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : ""
        guard pattern.utf8.count <= 512, value.utf8.count <= 512 else { return }
        _ = Pattern.matches(pattern, value)
    }

    /// `Range` headers of blob GETs against sizes, and upload `Content-Range` headers: what
    /// they resolve to must lie inside the blob (the server slices reads with it).
    static func range(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        for size: Int64 in [0, 1, 2, 100, 4096, 1 << 40, Int64.max] {
            if case .partial(let r) = ByteRange(header: text, size: size) {
                precondition(r.lowerBound >= 0 && r.upperBound <= size && !r.isEmpty, "range \(r) outside a blob of \(size)")
            }
        }
        if let chunk = ContentRange(text) {
            precondition(chunk.start >= 0 && chunk.length >= 1, "chunk \(chunk) has no bytes")
        }
    }

    /// Distribution-style config.yml documents (what an operator or a mistake writes).
    static func config(_ bytes: [UInt8]) {
        _ = try? RegistryConfiguration(yaml: String(decoding: bytes, as: UTF8.self))
    }

    /// Bearer tokens as a client presents them, to a verifier with one trusted key.
    static func jwt(_ bytes: [UInt8]) {
        let token = String(decoding: bytes, as: UTF8.self)
        let done = DispatchSemaphore(value: 0)
        Task {
            _ = try? await verifier.value.verify(token)
            done.signal()
        }
        done.wait()
    }

    static let verifier: Task<TokenVerifier, Never> = Task {
        let key = try! SigningKey.generate()
        return try! await TokenVerifier(issuer: "fuzz", service: "fuzz", roots: key.certificates)
    }
}
