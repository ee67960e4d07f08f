import ArgumentParser
import Client
import Foundation
import OCI

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a manifest or index, its config, layers and referrers.",
        discussion: "Example: berth inspect 127.0.0.1:5000/team/app:v1 --json")

    @Argument(help: "HOST[:PORT]/REPOSITORY[:TAG|@DIGEST] (the tag defaults to latest).")
    var target: String

    @Flag(help: "Print JSON: the manifest and config exactly as stored, plus digest and referrers.")
    var json = false

    @OptionGroup var remote: RemoteOptions

    func run() async throws {
        let reference = try ImageReference(parsing: target)
        guard let repository = reference.repository else { throw ValidationError("inspect needs a repository: HOST/REPOSITORY[:TAG]") }
        let ref = try reference.reference ?? .tag(Tag("latest"))
        try await withRegistry(remote, reference) { client in
            let fetched = try await client.manifest(repository, ref)
            let manifest = fetched.parsed
            var configBytes: [UInt8]?
            if manifest.kind == .image, let config = manifest.config, config.size <= 16 << 20,
               config.mediaType.hasSuffix("json") {
                configBytes = try await client.blob(repository, config.digest)
            }
            let referrers = try await client.referrers(repository, fetched.digest)
            if json {
                try printJSON([
                    "reference": reference.description,
                    "digest": fetched.digest.description,
                    "mediaType": fetched.mediaType,
                    "manifest": try JSONSerialization.jsonObject(with: Data(fetched.bytes)),
                    "config": try configBytes.map { try JSONSerialization.jsonObject(with: Data($0)) } ?? NSNull(),
                    "referrers": try referrers.map { try JSONSerialization.jsonObject(with: JSONEncoder().encode($0.manifests)) } ?? NSNull(),
                ] as [String: Any])
                return
            }
            printReadable(reference, fetched, configBytes, referrers)
        }
    }

    private func printReadable(_ reference: ImageReference, _ fetched: RegistryClient.FetchedManifest,
                               _ configBytes: [UInt8]?, _ referrers: RegistryClient.Referrers?) {
        let manifest = fetched.parsed
        print("Reference:   \(reference)")
        print("Digest:      \(fetched.digest)")
        print("Media type:  \(fetched.mediaType)")
        if let artifactType = manifest.artifactType { print("Artifact:    \(artifactType)") }
        if let subject = manifest.subject { print("Subject:     \(subject.digest)") }
        if let configBytes, let config = ImageConfiguration(decoding: configBytes) {
            if config.os != nil, config.architecture != nil { print("Platform:    \(config.platform)") }
            if let created = config.created { print("Created:     \(created)") }
            if let entrypoint = config.config?.Entrypoint { print("Entrypoint:  \(entrypoint.joined(separator: " "))") }
            if let cmd = config.config?.Cmd { print("Command:     \(cmd.joined(separator: " "))") }
        }
        switch manifest.kind {
        case .image:
            let total = (manifest.config?.size ?? 0) + manifest.layers.reduce(0) { $0 + $1.size }
            print("Size:        \(ByteSize(bytes: total).description) (config and \(manifest.layers.count) layer\(manifest.layers.count == 1 ? "" : "s"))")
            if let config = manifest.config { print("Config:      \(config.digest)  \(ByteSize(bytes: config.size).description)  \(config.mediaType)") }
            print("Layers:")
            for layer in manifest.layers { print("  \(layer.digest)  \(ByteSize(bytes: layer.size).description)  \(layer.mediaType)") }
        case .index:
            print("Manifests:")
            for child in manifest.manifests {
                let platform = child.platform.map { [$0.os, $0.architecture, $0.variant].compactMap { $0 }.joined(separator: "/") } ?? "-"
                print("  \(child.digest)  \(platform)  \(child.artifactType ?? child.mediaType)")
            }
        }
        if let annotations = manifest.annotations, !annotations.isEmpty {
            print("Annotations:")
            for (key, value) in annotations.sorted(by: { $0.key < $1.key }) { print("  \(key)=\(value)") }
        }
        guard let referrers else {
            print("Referrers:   none (the registry has no referrers API and no referrers tag)")
            return
        }
        let source = referrers.fromTagSchema ? " (from the referrers tag)" : ""
        print("Referrers:\(referrers.manifests.isEmpty ? "   none" : source)")
        for referrer in referrers.manifests {
            print("  \(referrer.digest)  \(referrer.artifactType ?? referrer.mediaType)")
        }
    }
}
