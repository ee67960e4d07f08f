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

    @Flag(name: [.customShort("l"), .long], help: "With a registry: also say which repositories are mirrors of an upstream (Berth's pull-through cache).")
    var long = false

    @OptionGroup var remote: RemoteOptions

    func run() async throws {
        let reference = try ImageReference(parsing: target)
        if reference.reference != nil { throw ValidationError("ls takes a registry or a repository, not a tag; use `berth inspect`") }
        let progress = TerminalProgress()
        try await withRegistry(remote, reference) { client in
            guard let repository = reference.repository else {
                let (names, prefixes) = try await client.catalogListing { progress.update("repositories", $0, nil) }
                progress.finish()
                if long {
                    let rows = names.map { (name: $0, mirror: RegistryClient.isMirrored($0, prefixes: prefixes)) }
                    if json {
                        struct Entry: Encodable { var name: String; var mirror: Bool }
                        try printJSON(encodable: rows.map { Entry(name: $0.name, mirror: $0.mirror) })
                    } else {
                        printTable(["REPOSITORY", "MIRROR"], rows.map { [$0.name, $0.mirror ? "yes" : "-"] })
                    }
                } else if json { try printJSON(names) } else { names.forEach { print($0) } }
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
                if let error = $0.error { return [$0.tag, "-", "unreadable: \(error)", "-", "-"] }
                return [$0.tag, String($0.digest.prefix(19)), Self.shortType($0.mediaType, artifactType: $0.artifactType),
                        $0.platforms.isEmpty ? "-" : $0.platforms.joined(separator: ","), ByteSize(bytes: $0.size).description]
            })
        }
    }

    /// Eight tags at a time, in tag order.
    private func summarize(_ client: RegistryClient, _ repository: RepositoryName, _ tags: [String],
                           progress: TerminalProgress) async throws -> [ImageSummary] {
        var results = [ImageSummary?](repeating: nil, count: tags.count)
        await withTaskGroup(of: (Int, ImageSummary).self) { group in
            var next = 0, done = 0
            // One unreadable tag (a schema 1 manifest, a tag deleted meanwhile) is reported in
            // its row instead of failing the whole listing.
            func add() {
                let index = next, name = tags[index]
                group.addTask {
                    do {
                        return (index, try await client.summarize(repository, tag: try Tag(name)))
                    } catch {
                        return (index, ImageSummary.unreadable(name, error))
                    }
                }
                next += 1
            }
            while next < min(8, tags.count) { add() }
            while let (index, summary) = await group.next() {
                results[index] = summary
                done += 1
                progress.update("tags", done, tags.count)
                if next < tags.count { add() }
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
