import ArgumentParser
import Client
import Foundation
import OCI

struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete a tag, a manifest by digest (with every tag pointing at it), or a whole repository.",
        discussion: """
        Registries that cannot delete a tag alone (Distribution 2.8) delete the manifest the \
        tag points at instead, which also removes every other tag on it: the confirmation \
        names them. `--repository HOST/REPOSITORY` deletes every tag and manifest of it (on Berth, \
        the repository itself; elsewhere, every manifest its tags point at). Blobs are freed by a \
        later `berth gc`.
        """)

    @Argument(help: "HOST[:PORT]/REPOSITORY:TAG, HOST[:PORT]/REPOSITORY@DIGEST, or with --repository HOST[:PORT]/REPOSITORY.")
    var target: String

    @Flag(help: "Delete the whole repository named by TARGET.")
    var repository = false

    @Flag(name: [.short, .long], help: "Do not ask for confirmation.")
    var yes = false

    @OptionGroup var remote: RemoteOptions

    func run() async throws {
        let reference = try ImageReference(parsing: target)
        if self.repository { return try await removeRepository(reference) }
        guard let repository = reference.repository, let ref = reference.reference else {
            throw ValidationError("rm needs a tag or digest: HOST/REPOSITORY:TAG or HOST/REPOSITORY@DIGEST")
        }
        try await withRegistry(remote, reference) { client in
            let digest = try await client.resolve(repository, ref)
            if case .tag = ref {
                guard try confirm("Delete tag \(reference)?") else { throw ExitCode(1) }
                do {
                    try await client.deleteManifest(repository, ref)
                    print("deleted tag \(reference)")
                    return
                } catch let error as ClientError where error.status == 405 || error.has(.unsupported) || error.has(.digestInvalid) {
                    // Distribution 2.8 answers DIGEST_INVALID: it deletes manifests by digest only.
                }
            }
            // Deleting by digest also removes every tag on the manifest: name them first.
            let sharing = try await tagsSharing(digest, in: repository, except: ref.tag, client: client)
            let question = ref.tag == nil
                ? "Delete manifest \(repository.value)@\(digest)\(sharing.isEmpty ? "" : " and its tags \(sharing.joined(separator: ", "))")?"
                : "The registry cannot delete a tag alone. Delete manifest \(digest)\(sharing.isEmpty ? "" : ", also removing tags \(sharing.joined(separator: ", "))")?"
            if ref.tag == nil || !sharing.isEmpty {
                guard try confirm(question) else { throw ExitCode(1) }
            }
            try await client.deleteManifest(repository, .digest(digest))
            print("deleted manifest \(repository.value)@\(digest)" + (sharing.isEmpty ? "" : ", also removing tags \(sharing.joined(separator: ", "))"))
        }
    }

    private func removeRepository(_ reference: ImageReference) async throws {
        guard let repository = reference.repository, reference.reference == nil else {
            throw ValidationError("--repository takes HOST/REPOSITORY, without a tag or digest")
        }
        try await withRegistry(remote, reference) { client in
            let tags = try await client.tags(repository)
            guard try confirm("Delete the repository \(repository.value) and its \(tags.count == 1 ? "1 tag" : "\(tags.count) tags")?") else {
                throw ExitCode(1)
            }
            if let deleted = try await client.deleteRepository(repository) {
                print("deleted repository \(deleted.repository): \(deleted.tags.count) tag(s), \(deleted.manifests.count) manifest(s)")
                return
            }
            // Not Berth: every manifest a tag points at, by digest.
            var digests: [Digest] = []
            for tag in tags {
                if let t = try? Tag(tag), let digest = try? await client.resolve(repository, .tag(t)), !digests.contains(digest) {
                    digests.append(digest)
                }
            }
            for digest in digests { try await client.deleteManifest(repository, .digest(digest)) }
            print("deleted \(digests.count) manifest(s) and \(tags.count) tag(s) of \(repository.value) (this registry keeps the empty repository in its catalog)")
        }
    }

    private func tagsSharing(_ digest: Digest, in repository: RepositoryName, except: Tag?, client: RegistryClient) async throws -> [String] {
        var sharing: [String] = []
        for tag in (try? await client.tags(repository)) ?? [] where except?.value != tag {
            if let t = try? Tag(tag), (try? await client.resolve(repository, .tag(t))) == digest { sharing.append(tag) }
        }
        return sharing
    }

    private func confirm(_ question: String) throws -> Bool {
        if yes { return true }
        guard isatty(STDIN_FILENO) == 1 else {
            throw CLIFailure("\(question) Refusing without a terminal to ask on; pass --yes.")
        }
        FileHandle.standardError.write(Data("\(question) [y/N] ".utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        return answer == "y" || answer == "yes"
    }
}
