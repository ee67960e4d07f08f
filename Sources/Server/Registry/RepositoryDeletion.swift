import Accounts
import Auth
import Hummingbird
import Notifications
import OCI
import Storage

/// `DELETE /berth/api/v1/repositories/NAME`: Berth's extension that removes a whole
/// repository (the registry API has none: emptied of tags and manifests, a repository still
/// lists). Allowed to callers with `delete` on it, asked of the registry's own authorizer, so
/// a client gets a token for `repository:NAME:delete` as it would for a manifest delete.
/// Each manifest removed is notified as a delete; the audit log records who did it.
struct RepositoryDeletion: Sendable {
    let api: RegistryAPI
    let directory: AccountDirectory?

    struct Deleted: Encodable {
        var repository: String
        var tags: [String]
        var manifests: [String]
    }

    func register(on group: RouterGroup<BerthRequestContext>) {
        group.delete("repositories/**") { request, context in try await delete(request, context) }
    }

    func delete(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let name = context.parameters.getCatchAll().joined(separator: "/")
        guard let repository = try? RepositoryName(name) else {
            throw RegistryError(.nameInvalid, message: "invalid repository name", status: 400)
        }
        var caller: String?
        if let door = api.door {
            let required = [ResourceScope(type: "repository", name: repository.value, actions: ["delete"])]
            let admitted = try await door.admit(request, context, required: required, realmBase: api.url("", request))
            caller = admitted.account.isEmpty ? nil : admitted.account
        }
        let deleted = try await perform(repository, caller: caller, request, context)
        return try json(Deleted(repository: repository.value, tags: deleted.tags, manifests: deleted.manifests.map(\.description)))
    }

    /// The delete itself, for this API and the web UI alike: notified and audited.
    func perform(_ repository: RepositoryName, caller: String?, _ request: Request,
                 _ context: BerthRequestContext) async throws -> RegistryStore.DeletedRepository {
        let deleted = try await api.store.deleteRepository(repository)
        if !api.eventSinks.isEmpty {
            // The audit trail records the repository delete itself, below.
            let events = RequestEvents(sinks: api.eventSinks.filter { !($0 is ContentAuditTrail) }, request, context, actor: caller,
                                       includeReferences: false)
            for digest in deleted.manifests {
                events.emit(.delete, mediaType: nil, Event.Target(digest: digest.description, repository: repository.value, tag: nil))
            }
        }
        if let directory {
            let entry = AuditEntry(actor: caller ?? "(anonymous)", action: "repository.delete", target: repository.value,
                                   address: context.clientAddress.map { "\($0)" },
                                   detail: "\(deleted.tags.count) tags, \(deleted.manifests.count) manifests")
            do {
                try await directory.store.record([entry])
            } catch {
                context.logger.error("repository deleted, but the audit log could not record it", metadata: ["error": "\(error)"])
            }
        }
        context.logger.info("repository deleted", metadata: ["repository": .string(repository.value), "by": .string(caller ?? "(anonymous)")])
        return deleted
    }
}
