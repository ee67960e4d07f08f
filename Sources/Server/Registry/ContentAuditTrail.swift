import Accounts
import Foundation
import Notifications
import OCI

/// The audit log's share of the registry's events: every manifest pushed (with its tag) and
/// every delete, with the account and address that did it; pulls only counted, per
/// repository and day (an image manifest fetched: a multi-platform pull's index is not
/// counted, its image is). Blob uploads and mounts are left out (a push is its manifest).
struct ContentAuditTrail: EventSink {
    let directory: AccountDirectory


    func wants(_ action: Event.Action) -> Bool { action != .mount }

    func publish(_ action: Event.Action, _ target: Event.Target, request: Event.Request, actor: String?) {
        let name: String
        switch action {
        case .push:
            guard let mediaType = target.mediaType, MediaType.manifestTypes.contains(mediaType) else { return }
            name = "manifest.push"
        case .delete:
            name = "manifest.delete"
        case .pull:
            if let mediaType = target.mediaType, MediaType.imageManifestTypes.contains(mediaType) { directory.recordPull(target.repository) }
            return
        case .mount:
            return
        }
        let reference = target.tag.map { ":\($0)" } ?? "@\(target.digest)"
        // The event's address carries the connection's port; the audit log keeps addresses bare.
        let address = request.addr.lastIndex(of: ":").map { String(request.addr[..<$0]) } ?? request.addr
        directory.recordContentChange(AuditEntry(
            actor: actor ?? "(anonymous)", action: name, target: target.repository + reference,
            address: address.isEmpty || address == "-" ? nil : address,
            detail: target.tag == nil ? nil : target.digest))
    }
}
