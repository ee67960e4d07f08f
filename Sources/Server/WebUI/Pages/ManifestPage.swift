import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// One image or index: platforms, configuration, layers, annotations, referrers, raw JSON.
extension WebUI {
    func manifestPage(_ repository: RepositoryName, _ digest: OCI.Digest, _ visitor: Visitor) async throws -> Response {
        guard let stored = try? await queries.manifest(repository, digest),
              let parsed = try? Manifest(parsing: stored.bytes, contentType: stored.mediaType) else { return notFound(visitor) }
        let targets = try await queries.tagTargets(repository)
        let tags = targets.filter { $0.digest == digest }.map(\.tag.value)
        var config: ManifestPage.Config?
        if parsed.kind == .image, let descriptor = parsed.config, descriptor.size <= 1 << 20,
           let bytes = try? await queries.smallBlob(repository, descriptor.digest), let image = ImageConfiguration(decoding: bytes) {
            config = ManifestPage.Config(
                platform: image.platform.isEmpty ? nil : image.platform, created: image.created.map(Formatting.instant),
                entrypoint: image.config?.Entrypoint?.joined(separator: " "), cmd: image.config?.Cmd?.joined(separator: " "),
                workingDir: image.config?.WorkingDir, user: image.config?.User, env: image.config?.Env ?? [],
                hasEnv: !(image.config?.Env ?? []).isEmpty,
                labels: (image.config?.Labels ?? [:]).sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) },
                hasLabels: !(image.config?.Labels ?? [:]).isEmpty,
                history: (image.history ?? []).compactMap(\.created_by),
                hasHistory: !(image.history ?? []).compactMap(\.created_by).isEmpty)
        }
        let referrers = (try? await queries.referrers(repository, of: digest)) ?? []
        let raw = (try? JSONSerialization.jsonObject(with: Data(stored.bytes)))
            .flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) }
            .map { String(decoding: $0, as: UTF8.self) } ?? String(decoding: stored.bytes, as: UTF8.self)
        let summary = await summaries.summary(stored, in: repository, queries: queries)
        let platforms: [ManifestPage.Platform] = parsed.manifests.map {
            .init(platform: $0.platform.map(Formatting.platform) ?? "-", digest: $0.digest.description,
                  shortDigest: Formatting.short($0.digest), size: Formatting.size($0.size))
        }
        let layers: [ManifestPage.Layer] = parsed.layers.enumerated().map {
            .init(index: $0.offset + 1, shortDigest: Formatting.short($0.element.digest), mediaType: $0.element.mediaType,
                  size: Formatting.size($0.element.size))
        }
        let annotations: [ManifestPage.Entry] = (parsed.annotations ?? [:]).sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) }
        let referrerRows: [ManifestPage.Referrer] = referrers.map {
            .init(artifactType: $0.artifactType ?? $0.mediaType, what: $0.artifactType.flatMap(SupplyChainArtifact.init(artifactType:))?.label ?? "-",
                  digest: $0.digest.description, shortDigest: Formatting.short($0.digest), size: Formatting.size($0.size))
        }
        // Signatures, attestations and SBOMs: referrers, and tags under cosign's scheme.
        var attached: [ManifestPage.Attached] = referrers.compactMap { referrer in
            referrer.artifactType.flatMap(SupplyChainArtifact.init(artifactType:)).map {
                .init(label: $0.label, kind: $0.kind.rawValue, via: "referrer", digest: referrer.digest.description,
                      shortDigest: Formatting.short(referrer.digest))
            }
        }
        for target in targets.sorted(by: { $0.tag.value < $1.tag.value }) {
            guard let (subject, artifact) = SupplyChainArtifact.tagScheme(target.tag.value), subject == digest, let artifact else { continue }
            attached.append(.init(label: artifact.label, kind: artifact.kind.rawValue, via: "tag " + target.tag.value,
                                  digest: target.digest.description, shortDigest: Formatting.short(target.digest)))
        }
        return render("manifest", ManifestPage(
            frame: frame(repository.value + "@" + Formatting.short(digest), visitor), name: repository.value,
            digest: digest.description, mediaType: stored.mediaType, artifactType: Formatting.artifactType(parsed),
            tags: tags.isEmpty ? nil : tags.sorted().joined(separator: ", "), size: Formatting.size(summary.size),
            platforms: platforms, hasPlatforms: !platforms.isEmpty, config: config, layers: layers, hasLayers: !layers.isEmpty,
            annotations: annotations, hasAnnotations: !annotations.isEmpty, attached: attached, hasAttached: !attached.isEmpty, referrers: referrerRows, hasReferrers: !referrerRows.isEmpty,
            deletable: await canDelete(visitor, repository.value), raw: raw))
    }
}

struct ManifestPage {
    struct Entry { var key: String; var value: String }
    struct Platform { var platform: String; var digest: String; var shortDigest: String; var size: String }
    struct Layer { var index: Int; var shortDigest: String; var mediaType: String; var size: String }
    struct Referrer { var artifactType: String; var what: String; var digest: String; var shortDigest: String; var size: String }
    /// A signature, attestation or SBOM of this image, and how it is attached.
    struct Attached { var label: String; var kind: String; var via: String; var digest: String; var shortDigest: String }
    struct Config {
        var platform: String?
        var created: String?
        var entrypoint: String?
        var cmd: String?
        var workingDir: String?
        var user: String?
        var env: [String]
        var hasEnv: Bool
        var labels: [Entry]
        var hasLabels: Bool
        var history: [String]
        var hasHistory: Bool
    }
    var frame: PageFrame
    var name: String
    var digest: String
    var mediaType: String
    var artifactType: String?
    var tags: String?
    var size: String
    var platforms: [Platform]
    var hasPlatforms: Bool
    var config: Config?
    var layers: [Layer]
    var hasLayers: Bool
    var annotations: [Entry]
    var hasAnnotations: Bool
    var attached: [Attached]
    var hasAttached: Bool
    var referrers: [Referrer]
    var hasReferrers: Bool
    var deletable: Bool
    var raw: String
}
