import Hummingbird
import Notifications
import OCI
import Storage

/// Who did what in one request, for the notification events it causes.
struct RequestEvents: Sendable {
    let notifier: Notifier?
    let request: Event.Request
    let actor: String?

    static let none = RequestEvents(notifier: nil, request: Event.Request(id: "", addr: "", host: "", method: "", useragent: ""), actor: nil)

    init(notifier: Notifier?, request: Event.Request, actor: String?) {
        self.notifier = notifier
        self.request = request
        self.actor = actor
    }

    init(notifier: Notifier?, _ request: Request, _ context: BerthRequestContext, actor: String?) {
        self.notifier = notifier
        let addr = context.remoteAddress.map { "\($0.ipAddress ?? "-"):\($0.port ?? 0)" } ?? "-"
        self.request = Event.Request(id: context.requestID, addr: addr, host: request.head.authority ?? "",
                                     method: request.method.rawValue, useragent: request.headers[.userAgent] ?? "")
        self.actor = actor
    }

    func emit(_ action: Event.Action, _ target: @autoclosure () -> Event.Target) {
        guard let notifier else { return }
        notifier.publish(action, target(), request: request, actor: actor)
    }

    var includeReferences: Bool { notifier?.includeReferences ?? false }
}

extension RegistryAPI {
    func manifestTarget(_ repository: RepositoryName, digest: Digest, mediaType: String, size: Int64, tag: Tag?,
                        manifest: Manifest?, _ request: Request, _ events: RequestEvents) -> Event.Target {
        var target = Event.Target(mediaType: mediaType, size: size, digest: digest.description, repository: repository.value,
                                  url: url("/v2/\(repository)/manifests/\(digest)", request), tag: tag?.value)
        if events.includeReferences, let manifest {
            target.references = (manifest.referencedBlobs + manifest.manifests).map {
                Event.Reference(mediaType: $0.mediaType, size: $0.size, digest: $0.digest.description)
            }
        }
        return target
    }

    func blobTarget(_ repository: RepositoryName, _ digest: Digest, size: Int64?, mediaType: String,
                    from: RepositoryName? = nil, _ request: Request) -> Event.Target {
        Event.Target(mediaType: mediaType, size: size, digest: digest.description, repository: repository.value,
                     fromRepository: from?.value, url: url("/v2/\(repository)/blobs/\(digest)", request))
    }
}
