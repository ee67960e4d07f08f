import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// Deleting a tag, a manifest or a whole repository: a confirmation page naming what goes, then the POST.
extension WebUI {
    func registerDeletion(on pages: RouterGroup<BerthRequestContext>) {
        pages.post("ui/repo/**") { request, context in try await delete(request, context) }
    }

    /// What a delete would remove, with the form that does it: a tag alone, or a manifest and
    /// every tag that points at it.
    func confirmDeletion(_ repository: RepositoryName, _ request: Request, _ visitor: Visitor) async throws -> Response {
        guard await canDelete(visitor, repository.value) else { return notFound(visitor) }
        let targets = try await queries.tagTargets(repository)
        if request.uri.queryParameters["repository"] == "1" {
            let tags = targets.map(\.tag.value).sorted()
            let shown = Array(tags.prefix(50)) + (tags.count > 50 ? ["… and \(tags.count - 50) more"] : [])
            return render("confirm", ConfirmPage(
                frame: frame("Delete \(repository.value)", visitor), name: repository.value,
                heading: "Delete the repository \(repository.value)?",
                explanation: "Every tag and manifest of \(repository.value) goes, and it leaves the list of repositories; its layers are reclaimed by the next garbage collection if nothing else uses them. Repositories under \(repository.value)/ stay.",
                going: shown, hasGoing: !tags.isEmpty, tag: nil, digest: nil, wholeRepository: true,
                action: tags.isEmpty ? "Delete repository" : "Delete repository and \(tags.count) tag\(tags.count == 1 ? "" : "s")"))
        }
        if let text = request.uri.queryParameters["tag"].map(String.init), let tag = try? Tag(text),
           let digest = targets.first(where: { $0.tag == tag })?.digest {
            return render("confirm", ConfirmPage(
                frame: frame("Delete \(repository.value):\(tag.value)", visitor), name: repository.value,
                heading: "Delete the tag \(tag.value)?",
                explanation: "The tag goes; the manifest \(Formatting.short(digest)) stays, with any other tags that point at it.",
                going: [], hasGoing: false, tag: tag.value, digest: nil, wholeRepository: false, action: "Delete tag \(tag.value)"))
        }
        if let text = request.uri.queryParameters["digest"].map(String.init), let digest = try? OCI.Digest(parsing: text),
           (try? await queries.manifest(repository, digest)) != nil {
            let going = targets.filter { $0.digest == digest }.map(\.tag.value).sorted()
            return render("confirm", ConfirmPage(
                frame: frame("Delete \(repository.value)@\(Formatting.short(digest))", visitor), name: repository.value,
                heading: "Delete the manifest \(Formatting.short(digest))?",
                explanation: "The manifest leaves \(repository.value); its layers are reclaimed by the next garbage collection if nothing else uses them.",
                going: going, hasGoing: !going.isEmpty, tag: nil, digest: digest.description, wholeRepository: false,
                action: going.isEmpty ? "Delete manifest" : "Delete manifest and \(going.count) tag\(going.count == 1 ? "" : "s")"))
        }
        return notFound(visitor)
    }

    func delete(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let path = String(request.uri.path.dropFirst((base + "/ui/repo/").count))
        guard path.hasSuffix("/_delete"),
              let repository = try? RepositoryName(PercentDecoding.decode(String(path.dropLast("/_delete".count)))) else {
            return forbidden("Nothing can be sent there.")
        }
        // The form middleware checked the CSRF token against this visitor's session.
        let form = context.form ?? WebForm(fields: [])
        func field(_ name: String) -> String? { form[name] }
        let visitor = context.visitor ?? .nobody
        guard let session = visitor.session else { return forbidden("That request did not come from a page of this site.") }
        guard await canDelete(visitor, repository.value) else {
            return forbidden("You may not delete in \(repository.value).")
        }
        if field("repository") == "1" {
            do {
                _ = try await RepositoryDeletion(api: api, directory: accounts?.directory).perform(repository, caller: session.account, request, context)
            } catch let error as RegistryError where error.code == .nameUnknown {
                return notFound(visitor)
            }
            await repositoryFacts.forget(repository.value)
            return redirect(base + "/ui/?deleted=" + (repository.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        }
        let reference: Reference
        if let text = field("tag"), let tag = try? Tag(text) {
            reference = .tag(tag)
        } else if let text = field("digest"), let digest = try? OCI.Digest(parsing: text) {
            reference = .digest(digest)
        } else {
            return forbidden("Name a tag or a manifest digest to delete.")
        }
        let events = api.requestEvents(request, context, actor: session.account)
        do {
            _ = try await api.deleteManifest(repository, reference, events)
        } catch let error as RegistryError where error.code == .manifestUnknown {
            return notFound(visitor)
        }
        context.logger.info("deleted from the web UI", metadata: [
            "account": .string(session.account), "repository": .string(repository.value), "reference": .string(reference.description)])
        // The repository's page confirms it (only for a reference that is really gone).
        let deleted: String = switch reference {
        case .tag(let tag): "tag:" + tag.value
        case .digest(let digest): digest.description
        }
        return redirect(base + "/ui/repo/" + repository.value + "?deleted=" + (deleted.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }
}

struct ConfirmPage {
    var frame: PageFrame
    var name: String
    var heading: String
    var explanation: String
    var going: [String]
    var hasGoing: Bool
    var tag: String?
    var digest: String?
    /// The form deletes the whole repository.
    var wholeRepository: Bool
    var action: String
}
