import ArgumentParser
import Client
import Foundation
import OCI

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List a registry's repositories, or a repository's tags with digest, type, platforms and size.",
        discussion: "Examples: berth ls 127.0.0.1:5000   berth ls registry.example.com/team/app --json")

    @Argument(help: "HOST[:PORT] or HOST[:PORT]/REPOSITORY (prefix http:// or https:// to fix the scheme).")
    var target: String

    @Flag(help: "Print JSON for scripts.")
    var json = false

    @OptionGroup var remote: RemoteOptions

    func run() async throws {
        let reference = try ImageReference(parsing: target)
        if reference.reference != nil { throw ValidationError("ls takes a registry or a repository, not a tag; use `berth inspect`") }
        let progress = TerminalProgress()
        try await withRegistry(remote, reference) { client in
            guard let repository = reference.repository else {
                let names = try await client.catalog { progress.update("repositories", $0, nil) }
                progress.finish()
                if json { try printJSON(names) } else { names.forEach { print($0) } }
                return
            }
            let tags = try await client.tags(repository)
            let summaries = try await summarize(client, repository, tags, progress: progress)
            progress.finish()
            if json {
                try printJSON(encodable: summaries)
                return
            }
            printTable(["TAG", "DIGEST", "TYPE", "PLATFORMS", "SIZE"], summaries.map {
                [$0.tag, String($0.digest.prefix(19)), Self.shortType($0.mediaType, artifactType: $0.artifactType),
                 $0.platforms.isEmpty ? "-" : $0.platforms.joined(separator: ","), formatBytes($0.size)]
            })
        }
    }

    /// Eight tags at a time, in tag order.
    private func summarize(_ client: RegistryClient, _ repository: RepositoryName, _ tags: [String],
                           progress: TerminalProgress) async throws -> [ImageSummary] {
        var results = [ImageSummary?](repeating: nil, count: tags.count)
        try await withThrowingTaskGroup(of: (Int, ImageSummary).self) { group in
            var next = 0, done = 0
            func add() throws {
                let index = next
                let tag = try Tag(tags[index])
                group.addTask { (index, try await client.summarize(repository, tag: tag)) }
                next += 1
            }
            while next < min(8, tags.count) { try add() }
            while let (index, summary) = try await group.next() {
                results[index] = summary
                done += 1
                progress.update("tags", done, tags.count)
                if next < tags.count { try add() }
            }
        }
        return results.compactMap { $0 }
    }

    static func shortType(_ mediaType: String, artifactType: String?) -> String {
        if let artifactType { return "artifact \(artifactType)" }
        switch mediaType {
        case MediaType.ociIndex: return "oci index"
        case MediaType.ociManifest: return "oci image"
        case MediaType.dockerManifestList: return "docker list"
        case MediaType.dockerManifest: return "docker image"
        default: return mediaType
        }
    }
}
