import Hummingbird
import Notifications
import OCI
import Storage

/// Who did what in one request, for the notification events it causes.
struct RequestEvents: Sendable {
    let sinks: [any EventSink]
    let request: Event.Request
    let actor: String?
    let includeReferences: Bool

    static let none = RequestEvents(sinks: [], request: Event.Request(id: "", addr: "", host: "", method: "", useragent: ""),
                                    actor: nil, includeReferences: false)

    /// Whether anything listens: handlers skip work done only for events.
    var wanted: Bool { !sinks.isEmpty }

    init(sinks: [any EventSink], request: Event.Request, actor: String?, includeReferences: Bool) {
        self.sinks = sinks
        self.request = request
        self.actor = actor
        self.includeReferences = includeReferences
    }

    /// `addr` is the client behind any trusted proxy (as Distribution's events report it),
    /// with the connection's port.
    init(sinks: [any EventSink], _ request: Request, _ context: BerthRequestContext, actor: String?, includeReferences: Bool) {
        let ip = context.clientAddress.map { "\($0)" } ?? context.remoteAddress?.ipAddress ?? "-"
        let addr = "\(ip):\(context.remoteAddress?.port ?? 0)"
        self.init(sinks: sinks, request: Event.Request(id: context.requestID, addr: addr, host: request.head.authority ?? "",
                                                       method: request.method.rawValue, useragent: request.headers[.userAgent] ?? ""),
                  actor: actor, includeReferences: includeReferences)
    }

    /// Every pull passes here, and the audit trail (a sink whenever there are accounts) wants
    /// only manifests: decide without building the event or allocating.
    func emit(_ action: Event.Action, mediaType: String?, _ target: @autoclosure () -> Event.Target) {
        guard sinks.contains(where: { $0.wants(action, mediaType: mediaType) }) else { return }
        let target = target()
        for sink in sinks where sink.wants(action, mediaType: mediaType) { sink.publish(action, target, request: request, actor: actor) }
    }
}

extension RegistryAPI {
    func requestEvents(_ request: Request, _ context: BerthRequestContext, actor: String?) -> RequestEvents {
        RequestEvents(sinks: eventSinks, request, context, actor: actor, includeReferences: notifier?.includeReferences ?? false)
    }

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
